import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

/// A golden session: how the real runner made it, and what its log must say.
///
/// The checked-in files live in `Tests/Fixtures/golden/<name>/`: `events.vlog`
/// (the session's log, decompressed) and the report files `velora report`
/// wrote for it. Refresh them with
/// `VELORA_WRITE_GOLDEN=1 swift test --skip-build --filter GoldenTests`.
struct GoldenSpec: Sendable {
    let name: String
    let instances: [String]
    let models: [String]
    let script: String
    let flags: [String]
    /// Exit code of `velora run`.
    let runCode: Int32
    /// Commands run after `velora run`; `SESSION` is replaced by the session folder.
    let followUp: [[String]]
    /// What must hold in the log, whoever regenerates it.
    let check: @Sendable (SessionState) -> Void

    static let all = [basic, odd]

    static func named(_ name: String) -> GoldenSpec { all.first { $0.name == name }! }

    var directory: String { fixture("golden/" + name) }

    /// 4 instances x 2 models, parallel: successes with a mini-swe-agent
    /// trajectory, a failure with exit 3 (retried, fails again), a timeout
    /// after 1 s, and a run that fails once and succeeds on attempt 2.
    static let basic = GoldenSpec(
        name: "basic",
        instances: ["ok-1", "fail-3", "slow", "retry"],
        models: ["alpha", "beta"],
        script: #"""
        c=0.125; [ "$VELORA_MODEL" = beta ] && c=0.5
        case "$VELORA_INSTANCE_ID" in
        ok-1) printf '{"info":{"exit_status":"Submitted","submission":"diff --git a/f b/f\\n+fix\\n","model_stats":{"instance_cost":%s,"api_calls":7}},"messages":[]}' "$c" > "$VELORA_OUTPUT_DIR/ok-1.traj.json"; echo solved;;
        fail-3) echo boom >&2; exit 3;;
        slow) exec sleep 30;;
        retry) [ "$VELORA_ATTEMPT" -ge 2 ] || { echo flaky >&2; exit 1; }
          printf '{"info":{"exit_status":"Submitted","submission":"","model_stats":{"instance_cost":0.25,"api_calls":3}}}' > "$VELORA_OUTPUT_DIR/r.traj.json";;
        esac
        """#,
        flags: ["--mode", "parallel", "--jobs", "4", "--timeout", "1s", "--kill-grace", "1s",
                "--max-attempts", "2", "--retry-on", "failed", "--backoff", "0s"],
        runCode: 1,
        followUp: [],
        check: { state in
            #expect(state.completed)
            #expect(state.models == ["alpha", "beta"])
            for model in ["alpha", "beta"] {
                let ok = state.run(model: model, instanceID: "ok-1")
                #expect(ok?.status == .succeeded)
                #expect(ok?.attempts.last?.metrics?.format == "mini-swe-agent")
                #expect(ok?.attempts.last?.metrics?.submitted == true)
                let fail = state.run(model: model, instanceID: "fail-3")
                #expect(fail?.status == .failed)
                #expect(fail?.attempts.count == 2)
                #expect(fail?.attempts.last?.ended?.exitCode == 3)
                let slow = state.run(model: model, instanceID: "slow")
                #expect(slow?.status == .timedOut)
                #expect(slow?.attempts.count == 1)
                let retry = state.run(model: model, instanceID: "retry")
                #expect(retry?.status == .succeeded)
                #expect(retry?.attempts.map(\.outcome) == [.failed, .succeeded])
                #expect(retry?.attempts.last?.metrics?.submitted == false)
            }
        })

    /// 3 awkward instance ids x 2 models, sequential: a SWE-agent `.traj` with
    /// tokens, a trajectory that is not JSON (a note), an OpenHands record with
    /// an error on a failed attempt; then `velora retry` and `velora resume`
    /// give the failed run a second, successful attempt.
    static let odd = GoldenSpec(
        name: "odd",
        instances: ["q\"uote,comma", "a/b c <&>", "multi\nline ü"],
        models: ["opus", "gpt"],
        script: #"""
        d="$VELORA_OUTPUT_DIR"
        case "$VELORA_INSTANCE_ID" in
        q*) printf '{"info":{"exit_status":"submitted","submission":"diff","model_stats":{"instance_cost":1.26719,"tokens_sent":122612,"tokens_received":1369,"api_calls":12}}}' > "$d/run.traj";;
        a*) echo 'not json{' > "$d/broken.traj.json";;
        *) if [ "$VELORA_ATTEMPT" = 1 ] && [ "$VELORA_MODEL" = opus ]; then
             printf '{"error":"RuntimeError: max iterations\\nTraceback","metrics":{"accumulated_cost":0.5,"accumulated_token_usage":{"prompt_tokens":10,"completion_tokens":2},"costs":[1,2]},"test_result":{"git_patch":""}}\n' > "$d/output.jsonl"
             exit 3
           fi;;
        esac
        """#,
        flags: ["--mode", "sequential", "--timeout", "20s"],
        runCode: 1,
        followUp: [["retry", "SESSION"], ["resume", "SESSION"]],
        check: { state in
            #expect(state.completed)
            #expect(state.runnerStarts == 2)
            #expect(state.runs.allSatisfy { $0.status == .succeeded })
            let swe = state.run(model: "opus", instanceID: "q\"uote,comma")?.attempts.last?.metrics
            #expect(swe?.format == "swe-agent")
            #expect(swe?.tokensSent == 122612)
            let broken = state.run(model: "gpt", instanceID: "a/b c <&>")?.attempts.last?.metrics
            #expect(broken?.note == "trajectory is not valid JSON")
            let retried = state.run(model: "opus", instanceID: "multi\nline ü")
            #expect(retried?.attempts.map(\.outcome) == [.failed, .succeeded])
            #expect(retried?.attempts.first?.metrics?.format == "openhands")
            #expect(retried?.attempts.first?.metrics?.exitStatus == "error: RuntimeError: max iterations")
        })
}

@Suite(.serialized) struct GoldenTests {
    static let writeGolden = ProcessInfo.processInfo.environment["VELORA_WRITE_GOLDEN"] == "1"

    /// Remakes every golden session with the real binary. Off unless
    /// `VELORA_WRITE_GOLDEN=1`; declared first so a refresh precedes the comparison.
    @Test(.enabled(if: writeGolden, "set VELORA_WRITE_GOLDEN=1 to regenerate the golden sessions"),
          arguments: GoldenSpec.all.map(\.name))
    func regenerate(_ name: String) throws {
        let spec = GoldenSpec.named(name)
        let dir = TempDir("velora-golden-\(name)")
        defer { dir.remove() }
        let data = writeDataset(dir, spec.instances)
        let output = dir.file("out")
        var args = ["run", "--dataset", data, "--output", output, "--session", name]
        for model in spec.models { args += ["--model", "name=\(model)"] }
        args += spec.flags + ["--", "/bin/sh", "-c", literalArgument(spec.script)]
        let run = try runVelora(args, cwd: dir.path)
        try #require(run.code == spec.runCode, "velora run: \(run.stderr)")
        let layout = SessionLayout(root: output + "/" + name)
        for command in spec.followUp {
            let r = try runVelora(command.map { $0 == "SESSION" ? layout.root : $0 }, cwd: dir.path)
            try #require(r.code == 0, "velora \(command.joined(separator: " ")): \(r.stderr)")
        }
        let state = try foldSession(layout)
        #expect(state.findings.isEmpty, "\(state.findings)")
        spec.check(state)

        try FileManager.default.createDirectory(atPath: spec.directory, withIntermediateDirectories: true)
        let target = spec.directory + "/events.vlog"
        try? FileManager.default.removeItem(atPath: target)
        if exists(layout.logPath) {
            try FileManager.default.copyItem(atPath: layout.logPath, toPath: target)
        } else {
            let unzipped = try runProgram("/bin/sh", ["-c", "zcat \"$0\"", layout.compressedLogPath])
            try #require(unzipped.code == 0, "zcat: \(unzipped.stderr)")
            _ = FileManager.default.createFile(atPath: target, contents: Data(unzipped.stdout))
        }
        let report = try runVelora(["report", layout.root], cwd: dir.path)
        try #require(report.code == 0, "velora report: \(report.stderr)")
        for file in reportFileNames {
            try? FileManager.default.removeItem(atPath: spec.directory + "/" + file)
            try FileManager.default.copyItem(atPath: layout.reportsDir + "/" + file, toPath: spec.directory + "/" + file)
        }
    }

    /// The checked-in log folds to exactly the checked-in reports, byte for byte.
    @Test(arguments: GoldenSpec.all.map(\.name))
    func foldMatchesCheckedInReports(_ name: String) throws {
        let spec = GoldenSpec.named(name)
        let (events, tail) = try LogReader.readAll(path: spec.directory + "/events.vlog")
        #expect(tail == .clean)
        #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
        let state = SessionState(events: events)
        #expect(state.findings.isEmpty, "\(state.findings)")
        #expect(state.session?.sessionID == name)
        spec.check(state)
        let rendered = renderedReports(state)
        for file in reportFileNames {
            expectSameBytes(rendered[file]!, file: spec.directory + "/" + file, "golden \(name)")
        }
    }

    /// `velora report` on the checked-in log (in a session folder of its own)
    /// writes the same files, and prints report.txt.
    @Test(arguments: GoldenSpec.all.map(\.name))
    func cliReportMatchesCheckedInReports(_ name: String) throws {
        let spec = GoldenSpec.named(name)
        let dir = TempDir("velora-golden-cli")
        defer { dir.remove() }
        let root = dir.file(name)
        try FileManager.default.createDirectory(atPath: root + "/events", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: spec.directory + "/events.vlog", toPath: root + "/events/events.vlog")
        let result = try runVelora(["report", root], cwd: dir.path)
        try #require(result.code == 0, "\(result.stderr)")
        for file in reportFileNames {
            expectSameBytes(fileText(root + "/reports/" + file), file: spec.directory + "/" + file, "velora report \(name)")
        }
        expectSameBytes(result.stdout, file: spec.directory + "/report.txt", "stdout of velora report \(name)")
    }
}
