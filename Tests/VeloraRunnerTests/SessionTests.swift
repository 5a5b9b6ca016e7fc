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

    /// Ctrl-C with `retry.on` leaving out interrupted: every run has its final outcome, but
    /// the session was stopped, not completed; resume completes it and starts nothing.
    @Test func resumeCompletesASessionWhoseRunsAllEndedUnderAStoppedRunner() throws {
        let s = MixedSession(ids: ["ok1", "slow1"], retryOn: "failed", maxAttempts: 1, timeout: "60s")
        defer { s.dir.remove() }
        let process = try startVelora(s.runArgs, cwd: s.dir.path)
        #expect(waitUntil(30) {
            guard let state = (try? quietFold(s.layout)) ?? nil else { return false }
            return state.runningCount == 2 && state.runs.filter { $0.status == .succeeded }.count == 2
        })
        process.signal(SIGINT)
        #expect(process.wait().code == 130)
        let stopped = try foldSession(s.layout)
        #expect(stopped.runs.allSatisfy(\.status.isTerminal) && !stopped.completed)
        let executed = s.executions
        let resumed = try s.resume()
        #expect(resumed.code == 1, "\(resumed.stderr)")
        let state = try foldSession(s.layout)
        #expect(state.completed)
        #expect(s.executions == executed)
        // Now there is nothing left: a second resume records nothing.
        let events = eventCount(s.layout)
        #expect(try s.resume().code == 1)
        #expect(eventCount(s.layout) == events)
    }

    /// Two attempts end while the runner is stopped (SIGSTOP); the attempt their ends make
    /// room for cannot get its folder, which stops the runner with an error. Both ends
    /// reaped together keep their real outcome, and resume runs only what never ran.
    @Test func outcomesReapedTogetherSurviveARunnerErrorWhileStartingTheNext() throws {
        let dir = TempDir("velora-reaped"); defer { dir.remove() }
        let go = dir.file("go"), count = dir.file("count"), output = dir.file("out")
        let agent = """
            echo "$VELORA_INSTANCE_ID/$VELORA_ATTEMPT" >> "$COUNT"
            [ "$VELORA_INSTANCE_ID" = c ] || while [ ! -e "$GO" ]; do sleep 0.02; done
            echo '{{}}' > "$VELORA_OUTPUT_DIR/run.traj.json"
            """
        let process = try startVelora(["run", "--dataset", writeDataset(dir, ["a", "b", "c"]), "--output", output,
                                       "--session", "s", "--model", "name=m", "--mode", "parallel", "--jobs", "2",
                                       "--env", "GO=\(go)", "--env", "COUNT=\(count)", "--require", "*.traj.json",
                                       "--", "/bin/sh", "-c", agent], cwd: dir.path)
        let layout = SessionLayout(root: output + "/s")
        // Both agents run, and their pids are in the log.
        var running = SessionState()
        #expect(waitUntil(30) {
            running = ((try? quietFold(layout)) ?? nil) ?? SessionState()
            return lines(count).count == 2 && running.runs.compactMap { $0.attempts.last?.started.pid }.count == 2
        })
        let pids = running.runs.compactMap { $0.attempts.last?.started.pid }
        try #require(pids.count == 2 && running.runningCount == 2)
        // Where c's folder goes, a file: its attempt folder cannot be made.
        let blocked = layout.root + "/" + running.runs[2].queued.folder
        process.signal(SIGSTOP)
        _ = FileManager.default.createFile(atPath: blocked, contents: Data())
        _ = FileManager.default.createFile(atPath: go, contents: Data())
        // Both agents have exited (zombies until the runner reaps them) before it goes on.
        #expect(waitUntil(30) { pids.allSatisfy { processState($0) == "Z" } })
        process.signal(SIGCONT)
        let first = process.wait(timeLimit: 60)
        #expect(first.code == 1 && first.stderr.contains("Not a directory"), "\(first.stderr)")
        let stopped = try foldSession(layout)
        #expect(stopped.runs.map(\.status) == [.succeeded, .succeeded, .queued], "\(stopped.runs.map(\.status))")
        #expect(stopped.lastStop?.reason == "error")
        unlink(blocked)
        let resumed = try runVelora(["resume", layout.root], cwd: dir.path)
        #expect(resumed.code == 0, "\(resumed.stderr)")
        let state = try foldSession(layout)
        #expect(state.completed && state.runs.allSatisfy { $0.status == .succeeded && $0.attempts.count == 1 })
        #expect(lines(count).sorted() == ["a/1", "b/1", "c/1"])
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
