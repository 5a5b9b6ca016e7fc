import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

enum StatusTail {
    /// The last status block printed.
    static func last(_ text: String) -> String {
        guard let range = text.range(of: "session s:", options: .backwards) else { return text }
        return String(text[range.lowerBound...])
    }
}

func debugLog(_ s: MixedSession) -> String {
    guard let path = s.layout.readableLogPath, let events = try? LogReader.readAll(path: path).events else { return "-" }
    var state = SessionState()
    return events.map { state.apply($0); return EventText.line($0, state: state) }.joined(separator: "\n")
}

@Suite(.serialized) struct SessionTests {
    /// The promises every finished session keeps.
    func checkInvariants(_ s: MixedSession, _ state: SessionState, sourceLocation: SourceLocation = #_sourceLocation) {
        for problem in s.audit(state).problems {
            Issue.record("\(problem); log:\n\(debugLog(s))", sourceLocation: sourceLocation)
        }
    }

    @Test func crashFreeSessionHasTheExpectedOutcomes() throws {
        let s = MixedSession(); defer { s.dir.remove() }
        let r = try runVelora(s.runArgs, cwd: s.dir.path)
        #expect(r.code == 1, "\(r.stderr)")
        try #require(s.layout.readableLogPath != nil, "\(r.stderr)")
        let state = try foldSession(s.layout)
        checkInvariants(s, state)
        #expect(state.runs.filter { $0.status == .succeeded }.count == 12)
        #expect(state.runs.first { $0.instanceID == "flaky1" }?.attempts.count == 2)
        #expect(state.runs.first { $0.instanceID == "slow1" }?.attempts.count == 4)
        // The reports were written at the end, through the same code as `velora report`.
        #expect(fileExists(s.layout.reportsDir + "/summary.json"))
    }

    @Test func sigintStopsGracefullyAndTheSessionResumes() throws {
        let s = MixedSession(); defer { s.dir.remove() }
        let process = try startVelora(s.runArgs, cwd: s.dir.path)
        #expect(waitUntil(30) { s.layout.readableLogPath != nil && (try? quietFold(s.layout))??.runningCount ?? 0 >= 2 })
        process.signal(SIGINT)
        let result = process.wait()
        #expect(result.code == 130, "\(result.stderr)")
        let state = try foldSession(s.layout)
        #expect(state.lastStop?.reason == "interrupted")
        #expect(state.runs.contains { $0.attempts.last?.outcome == .interrupted })
        #expect(state.runningCount == 0)
        #expect(s.leftovers.isEmpty)
        let resumed = try s.resume()
        #expect(resumed.code == 1)
        checkInvariants(s, try foldSession(s.layout))
    }

    @Test func aSecondRunnerIsRefusedWithExit3() throws {
        let s = MixedSession(); defer { s.dir.remove() }
        let process = try startVelora(s.runArgs, cwd: s.dir.path)
        #expect(waitUntil(30) { eventCount(s.layout) > 20 })
        let second = try s.resume()
        #expect(second.code == 3)
        #expect(second.stderr.contains("locked by a live runner (pid \(process.pid) on"))
        // status works from another terminal while the runner appends.
        let status = try runVelora(["status", "s", "--output", s.output], cwd: s.dir.path)
        #expect(status.code == 0)
        #expect(status.stdout.contains("running (pid \(process.pid)"))
        // cancel asks it to stop gracefully.
        let cancel = try runVelora(["cancel", "s", "--output", s.output, "--wait"], cwd: s.dir.path)
        #expect(cancel.code == 0)
        #expect(process.wait().code == 130)
        #expect(try foldSession(s.layout).lastStop?.reason == "cancelled")
    }

    /// `log --follow` and `status --watch` read a live log (no lock) and end with the runner.
    @Test func followAndWatchALiveSession() throws {
        let s = MixedSession(); defer { s.dir.remove() }
        let runner = try startVelora(s.runArgs, cwd: s.dir.path)
        #expect(waitUntil(30) { s.layout.readableLogPath != nil })
        let follow = try startVelora(["log", "s", "--output", s.output, "--follow", "--json"], cwd: s.dir.path)
        let watch = try startVelora(["status", "s", "--output", s.output, "--watch"], cwd: s.dir.path)
        let followed = follow.wait()
        let watched = watch.wait()
        #expect(runner.wait().code == 1)
        let all = try LogReader.readAll(path: try #require(s.layout.readableLogPath)).events
        // Every event exactly once, whole, in order.
        let seqs = followed.stdout.split(separator: "\n").compactMap { line -> UInt64? in
            guard let data = line.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return (object["seq"] as? NSNumber)?.uint64Value
        }
        #expect(seqs == all.map(\.seq))
        // The last block it printed shows the finished session.
        #expect(StatusTail.last(watched.stdout).hasPrefix("session s: finished"), "\(watched.stdout)")
    }

    @Test func retryThenResumeRerunsExactlyTheChosenRuns() throws {
        let s = MixedSession(); defer { s.dir.remove() }
        _ = try runVelora(s.runArgs, cwd: s.dir.path)
        let before = try foldSession(s.layout)
        let failed = before.runs.filter { $0.status == .failed }.map { "\($0.model)/\($0.instanceID)" }
        #expect(failed.sorted() == ["alpha/fail1", "beta/fail1"])
        let countBefore = lines(s.count)
        let retry = try runVelora(["retry", "s", "--output", s.output, "--status", "failed", "--model", "alpha"], cwd: s.dir.path)
        #expect(retry.code == 0, "\(retry.stderr)")
        #expect(try s.resume().code == 1)
        let newLines = Array(lines(s.count).dropFirst(countBefore.count))
        #expect(newLines == ["alpha/fail1/5"])
        let after = try foldSession(s.layout)
        #expect(after.runs.first { $0.model == "alpha" && $0.instanceID == "fail1" }?.attempts.count == 5)
        // --dataset-out writes the chosen instances, byte for byte.
        let out = s.dir.file("again.jsonl")
        #expect(try runVelora(["retry", "s", "--output", s.output, "--status", "timed_out", "--dataset-out", out], cwd: s.dir.path).code == 0)
        #expect(try Dataset.load(path: out).instances.map(\.id) == ["slow1"])
    }

    @Test func hostileIdsAndModelNamesStayInsideAndExecuteNothing() throws {
        let dir = TempDir("velora-hostile"); defer { dir.remove() }
        let ids = ["../../escape", "/etc/passwd", "x'; touch pwned; '", "$(touch pwned2)", "a\nb", ".", "..",
                   String(repeating: "long", count: 1000), "`touch pwned3`"]
        let data = writeDataset(dir, ids)
        let out = dir.file("out")
        let r = try runVelora(["run", "--dataset", data, "--output", out, "--session", "s",
                               "--model", "name=../m", "--model", "name=$(touch pwned4)",
                               "--", "/bin/sh", "-c", "printf '%s' \"$1\" > \"$VELORA_OUTPUT_DIR/id\"", "sh", "{instance_id}"],
                              cwd: dir.path)
        #expect(r.code == 0, "\(r.stderr)")
        let state = try foldSession(SessionLayout(root: out + "/s"))
        #expect(state.runs.count == ids.count * 2)
        for run in state.runs {
            let folder = out + "/s/" + (run.attempts.last?.started.outputDir ?? "")
            let real = URL(fileURLWithPath: folder).standardizedFileURL.path
            #expect(real.hasPrefix(out + "/s/runs/"))
            #expect(try String(contentsOfFile: folder + "/id", encoding: .utf8) == run.instanceID)
        }
        for name in ["pwned", "pwned2", "pwned3", "pwned4"] {
            #expect(!fileExists(dir.file(name)))
        }
        let top = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(top == ["data.jsonl", "out"])
    }
}
