import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

/// Against the real local Slurm that scripts/test brings up (scripts/slurm/up).
/// In CI (VELORA_TEST_REQUIRE_ALL=1) a missing Slurm fails these tests instead of skipping them.
let slurmWanted = ProcessInfo.processInfo.environment["VELORA_TEST_SLURM"] == "1" || requireAll

func slurmReachable() -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "sinfo -h -o %T >/dev/null 2>&1"]
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}

/// Job ids of a session that squeue still shows as pending or running.
func activeJobs(_ state: SessionState) -> [String] {
    let ids = state.runs.flatMap { $0.attempts.compactMap(\.started.jobID) }
    guard !ids.isEmpty else { return [] }
    let p = Process()
    let pipe = Pipe()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING", "-j", ids.joined(separator: ","), "-o", "%i"]
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return [] }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

struct SlurmSession {
    let dir = TempDir("velora-slurm")
    var output: String { dir.file("out") }
    var count: String { dir.file("count") }
    var layout: SessionLayout { SessionLayout(root: output + "/s") }

    /// A config whose agent counts executions, fails for fail*, sleeps for slow*.
    func config(ids: [String], models: [String], timeout: String = "60s", agent: String) -> String {
        let data = writeDataset(dir, ids)
        let modelList = models.map { "{\"name\": \"\($0)\"}" }.joined(separator: ", ")
        return writeConfig(dir, """
        {"dataset": "\(data)", "output": "\(output)", "models": [\(modelList)],
         "command": ["/bin/sh", "-c", \(jsonString(agent))],
         "jobs": 8, "timeout": "\(timeout)", "kill_grace": "1s",
         "retry": {"max_attempts": 1},
         "env": {"COUNT": "\(count)"},
         "executor": {"kind": "slurm", "poll": "300ms"}}
        """)
    }

    static let agent = """
    echo "$VELORA_MODEL/$VELORA_INSTANCE_ID/$VELORA_ATTEMPT" >> "$COUNT"
    case "$VELORA_INSTANCE_ID" in
      fail*) echo failing; exit 4;;
      slow*) sleep 300;;
      wait*) sleep 4;;
    esac
    echo "done $VELORA_INSTANCE_ID"
    """
}

@Suite(.serialized, .enabled(if: slurmWanted)) struct SlurmTests {
    @Test func slurmIsUp() {
        #expect(slurmReachable(), "no Slurm: run scripts/slurm/up")
    }

    @Test func smallSessionHasTheSameShapeAsLocal() throws {
        try #require(slurmReachable())
        let s = SlurmSession(); defer { s.dir.remove() }
        let ids = ["a1", "a2", "fail1", "a3", "a4", "a5"]
        let config = s.config(ids: ids, models: ["m1", "m2"], agent: SlurmSession.agent)
        let r = try runVelora(["run", "--config", config, "--session", "s"], cwd: s.dir.path)
        #expect(r.code == 1, "\(r.stderr)")
        let state = try foldSession(s.layout)
        #expect(state.completed && state.findings.isEmpty)
        for run in state.runs {
            #expect(run.attempts.count == 1)
            #expect(run.attempts[0].started.jobID != nil)
            #expect(run.status == (run.instanceID.hasPrefix("fail") ? .failed : .succeeded))
            let log = s.layout.root + "/" + run.attempts[0].started.outputDir + "/output.log.gz"
            #expect(fileExists(log), "no log for \(run.model)/\(run.instanceID)")
        }
        let failed = try #require(state.runs.first { $0.instanceID == "fail1" }?.attempts.first?.ended)
        #expect(failed.exitCode == 4)
        #expect(failed.executorState == "FAILED")
        // The same session on the local executor: the same outcomes and report shape.
        let local = SlurmSession(); defer { local.dir.remove() }
        let localConfig = local.config(ids: ids, models: ["m1", "m2"], agent: SlurmSession.agent)
        let localRun = try runVelora(["run", "--config", localConfig, "--session", "s", "--executor", "local"], cwd: local.dir.path)
        #expect(localRun.code == 1, "\(localRun.stderr)")
        let localState = try foldSession(local.layout)
        #expect(localState.runs.map(\.status) == state.runs.map(\.status))
        let header = { (path: String) in ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").components(separatedBy: "\r\n").first ?? "" }
        #expect(header(s.layout.reportsDir + "/results.csv") == header(local.layout.reportsDir + "/results.csv"))
        #expect(lines(s.count).count == 12)
    }

    @Test func timeoutIsEnforcedByVeloraWithinSecondsOfItsDeadline() throws {
        try #require(slurmReachable())
        let s = SlurmSession(); defer { s.dir.remove() }
        let config = s.config(ids: ["slow1"], models: ["m"], timeout: "3s", agent: SlurmSession.agent)
        let r = try runVelora(["run", "--config", config, "--session", "s"], cwd: s.dir.path)
        #expect(r.code == 1)
        let state = try foldSession(s.layout)
        let attempt = try #require(state.runs.first?.attempts.first)
        #expect(attempt.outcome == .timedOut)
        let duration = try #require(attempt.ended?.durationMs)
        #expect(duration >= 3000 && duration < 12_000, "took \(duration) ms for a 3 s timeout")
        #expect(activeJobs(state).isEmpty)
    }

    @Test func sigintCancelsRunningJobsAndRecordsThemInterrupted() throws {
        try #require(slurmReachable())
        let s = SlurmSession(); defer { s.dir.remove() }
        let config = s.config(ids: ["slow1", "slow2"], models: ["m"], agent: SlurmSession.agent)
        let p = try startVelora(["run", "--config", config, "--session", "s"], cwd: s.dir.path)
        #expect(waitUntil(60) { lines(s.count).count == 2 })
        p.signal(SIGINT)
        let r = p.wait()
        #expect(r.code == 130, "\(r.stderr)")
        let state = try foldSession(s.layout)
        #expect(state.runs.allSatisfy { $0.attempts.last?.outcome == .interrupted })
        #expect(waitUntil(30) { activeJobs(state).isEmpty })
    }

    /// SIGKILL the coordinator while jobs run; resume re-attaches: each job runs once.
    @Test func crashReattachesToRunningJobs() throws {
        try #require(slurmReachable())
        let s = SlurmSession(); defer { s.dir.remove() }
        let config = s.config(ids: ["wait1", "wait2", "wait3"], models: ["m"], agent: SlurmSession.agent)
        let p = try startVelora(["run", "--config", config, "--session", "s"], cwd: s.dir.path)
        #expect(waitUntil(60) { lines(s.count).count == 3 })
        p.signal(SIGKILL)
        _ = p.wait()
        let before = try foldSession(s.layout)
        #expect(before.runs.allSatisfy { $0.status == .running })
        #expect(activeJobs(before).count == 3)
        // The plan says the jobs are looked up in Slurm, not recorded interrupted.
        let plan = try runVelora(["resume", "s", "--dry-run", "--output", s.output], cwd: s.dir.path)
        #expect(plan.code == 0 && plan.stdout.contains("ask Slurm about") && !plan.stdout.contains("record as interrupted"),
                "\(plan.stdout)")
        for id in before.runs.compactMap({ $0.attempts.last?.started.jobID }) {
            #expect(plan.stdout.contains("(job \(id))"), "\(plan.stdout)")
        }
        let r = try runVelora(["resume", "s", "--output", s.output], cwd: s.dir.path)
        #expect(r.code == 0, "\(r.stderr)")
        let state = try foldSession(s.layout)
        #expect(state.runs.allSatisfy { $0.status == .succeeded && $0.attempts.count == 1 })
        #expect(lines(s.count).sorted() == ["m/wait1/1", "m/wait2/1", "m/wait3/1"])
    }

    /// A resume that cannot reach Slurm (its controller stopped) records nothing about the
    /// jobs a dead runner left, which may still run, and says why. Once Slurm answers, the
    /// next resume looks them up and each job runs once. (Slurm going away after that first
    /// check and before recovery asks `squeue` stops the runner the same way, recording nothing.)
    @Test func resumeThatCannotReachSlurmRecordsNothing() throws {
        try #require(slurmReachable())
        let s = SlurmSession(); defer { s.dir.remove() }
        let config = s.config(ids: ["wait1", "wait2"], models: ["m"], agent: SlurmSession.agent)
        let p = try startVelora(["run", "--config", config, "--session", "s"], cwd: s.dir.path)
        #expect(waitUntil(60) { lines(s.count).count == 2 })
        p.signal(SIGKILL)
        _ = p.wait()
        let before = try LogReader.readAll(path: try #require(s.layout.readableLogPath)).events
        try #require(SessionState(events: before).runs.allSatisfy { $0.status == .running })
        let controller = try #require(Int32(String(decoding: try Data(contentsOf: URL(fileURLWithPath: "/run/slurmctld.pid")),
                                                   as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(controller, SIGSTOP)
        let unreachable = try runVelora(["resume", "s", "--output", s.output], cwd: s.dir.path)
        kill(controller, SIGCONT)
        #expect(unreachable.code == 2 && unreachable.stderr.contains("cannot reach Slurm"), "\(unreachable.stderr)")
        #expect(try LogReader.readAll(path: try #require(s.layout.readableLogPath)).events == before)
        let r = try runVelora(["resume", "s", "--output", s.output], cwd: s.dir.path)
        #expect(r.code == 0, "\(r.stderr)")
        let state = try foldSession(s.layout)
        #expect(state.runs.allSatisfy { $0.status == .succeeded && $0.attempts.count == 1 })
        #expect(lines(s.count).sorted() == ["m/wait1/1", "m/wait2/1"])
    }

    /// A job that finished while no coordinator watched gets its real outcome.
    @Test func jobThatFinishedWhileTheCoordinatorWasDownGetsItsOutcome() throws {
        try #require(slurmReachable())
        let s = SlurmSession(); defer { s.dir.remove() }
        let config = s.config(ids: ["wait1", "fail1"], models: ["m"], agent: SlurmSession.agent)
        let p = try startVelora(["run", "--config", config, "--session", "s"], cwd: s.dir.path)
        #expect(waitUntil(60) { lines(s.count).count == 2 && ((try? quietFold(s.layout))??.runs.allSatisfy { $0.attempts.first?.started.jobID != nil } ?? false) })
        p.signal(SIGKILL)
        _ = p.wait()
        let before = try foldSession(s.layout)
        #expect(waitUntil(60) { activeJobs(before).isEmpty })
        let r = try runVelora(["resume", "s", "--output", s.output], cwd: s.dir.path)
        #expect(r.code == 1)
        let state = try foldSession(s.layout)
        let wait = try #require(state.runs.first { $0.instanceID == "wait1" })
        let fail = try #require(state.runs.first { $0.instanceID == "fail1" })
        #expect(wait.status == .succeeded && wait.attempts.count == 1)
        #expect(fail.status == .failed && fail.attempts.first?.ended?.exitCode == 4)
        #expect(lines(s.count).count == 2)
    }
}
