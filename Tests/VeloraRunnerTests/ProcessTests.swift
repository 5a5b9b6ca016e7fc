import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

/// Runs one shell command as a one-run session through the real velora binary
/// and returns the exit code and the folded log. Every process the command
/// starts inherits `VELORA_TEST_MARK`, so leftovers can be found afterwards.
struct OneRun {
    let dir = TempDir("velora-proc")
    let mark = ProcessMark()

    func run(_ script: String, timeout: String = "30s", killGrace: String = "1s", extra: [String] = [])
        throws -> (result: VeloraResult, state: SessionState, layout: SessionLayout) {
        let data = writeDataset(dir, ["i1"])
        let result = try runVelora(
            ["run", "--dataset", data, "--output", dir.file("out"), "--model", "name=m", "--timeout", timeout,
             "--kill-grace", killGrace] + mark.flag + extra + ["--", "/bin/sh", "-c", script],
            cwd: dir.path)
        let layout = try onlySession(dir.file("out"))
        return (result, try foldSession(layout), layout)
    }

    var leftovers: [Int32] { mark.leftovers }
}

@Suite(.serialized) struct ProcessTests {
    func outcome(_ state: SessionState) -> (Outcome?, AttemptEnded?) {
        let a = state.runs.first?.attempts.last
        return (a?.outcome, a?.ended)
    }

    @Test func success() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (result, state, layout) = try t.run("echo hello; echo oops >&2")
        #expect(result.code == 0, "\(result.stderr)")
        #expect(outcome(state).0 == .succeeded)
        #expect(outcome(state).1?.exitCode == 0)
        // stdout and stderr end up in the attempt's compressed log.
        let log = layout.root + "/runs/m/i1/attempt-1/output.log.gz"
        let text = try String(decoding: readAllBytes(GzipReader(path: log)), as: UTF8.self)
        #expect(text == "hello\noops\n")
        #expect(t.leftovers.isEmpty)
    }

    @Test func nonZeroExit() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (result, state, _) = try t.run("exit 7")
        #expect(result.code == 1)
        #expect(outcome(state).0 == .failed)
        #expect(outcome(state).1?.exitCode == 7)
        #expect(outcome(state).1?.reason == "exit code 7")
    }

    @Test func killedBySignal() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (_, state, _) = try t.run("kill -SEGV $$")
        #expect(outcome(state).0 == .failed)
        #expect(outcome(state).1?.signal == 11)
        #expect(outcome(state).1?.reason == "killed by signal 11 (SIGSEGV)")
    }

    @Test func timeoutOfAChildThatIgnoresSIGTERM() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (result, state, _) = try t.run("trap '' TERM; while :; do sleep 1; done", timeout: "1s", killGrace: "1s")
        #expect(result.code == 1)
        #expect(outcome(state).0 == .timedOut)
        #expect(outcome(state).1?.signal == 9)
        let duration = try #require(outcome(state).1?.durationMs)
        #expect(duration >= 2000 && duration < 6000, "timeout 1s + grace 1s, took \(duration) ms")
        #expect(t.leftovers.isEmpty)
    }

    @Test func grandchildrenAreKilled() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (_, state, _) = try t.run("for i in 1 2 3 4 5; do sleep 300 & done; exit 0")
        #expect(outcome(state).0 == .succeeded)
        #expect(t.leftovers.isEmpty, "leftover: \(t.leftovers)")
    }

    @Test func setsidAndSleep() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (_, state, _) = try t.run("setsid sleep 300 & sleep 0.2; exit 0")
        #expect(outcome(state).0 == .succeeded)
        #expect(t.leftovers.isEmpty, "leftover: \(t.leftovers)")
    }

    @Test func doubleForkingDaemon() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (_, state, _) = try t.run("(setsid sh -c 'sleep 300 & exit 0' &); sleep 0.3; exit 0")
        #expect(outcome(state).0 == .succeeded)
        #expect(t.leftovers.isEmpty, "leftover: \(t.leftovers)")
    }

    @Test func daemonOfATimedOutAttempt() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (_, state, _) = try t.run("(setsid sh -c 'trap \"\" TERM; sleep 300' &); sleep 300", timeout: "1s")
        #expect(outcome(state).0 == .timedOut)
        #expect(t.leftovers.isEmpty, "leftover: \(t.leftovers)")
    }

    @Test func twoHundredMegabytesOfOutput() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let data = writeDataset(t.dir, ["i1"])
        let (code, maxRSS) = try runVeloraMeasured(
            ["run", "--dataset", data, "--output", t.dir.file("out"), "--model", "name=m", "--timeout", "2m",
             "--", "/bin/sh", "-c", "head -c 200000000 /dev/zero | tr '\\0' 'x'; echo"], cwd: t.dir.path)
        #expect(code == 0)
        // The runner never holds the output: the child writes to its log file directly.
        #expect(maxRSS > 0 && maxRSS < 60 * 1024, "velora peaked at \(maxRSS / 1024) MB")
        let layout = try onlySession(t.dir.file("out"))
        let state = try foldSession(layout)
        #expect(outcome(state).0 == .succeeded)
        let gz = layout.root + "/runs/m/i1/attempt-1/output.log.gz"
        #expect(try readAllBytes(GzipReader(path: gz)).count == 200_000_001)
    }

    @Test func childClosesStdoutEarly() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (_, state, _) = try t.run("exec >&- 2>&-; sleep 0.2; exit 0")
        #expect(outcome(state).0 == .succeeded)
    }

    @Test func childReadingStdinGetsEndOfFile() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (_, state, _) = try t.run("read line; test -z \"$line\"", timeout: "10s")
        #expect(outcome(state).0 == .succeeded)
    }

    @Test func requiredFileMissingIsAFailureWithItsReason() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let (_, state, _) = try t.run("touch \"$VELORA_OUTPUT_DIR/empty.traj.json\"", extra: ["--require", "*.traj.json"])
        #expect(outcome(state).0 == .failed)
        #expect(outcome(state).1?.reason == "exit code 0, but no non-empty file matches *.traj.json")
    }

    @Test func commandThatCannotStart() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let data = writeDataset(t.dir, ["i1"])
        let result = try runVelora(["run", "--dataset", data, "--output", t.dir.file("out"), "--model", "name=m",
                                    "--", "no-such-program-velora"], cwd: t.dir.path)
        #expect(result.code == 1)
        let state = try foldSession(try onlySession(t.dir.file("out")))
        #expect(state.runs[0].attempts[0].outcome == .failed)
        #expect(state.runs[0].attempts[0].ended?.reason.contains("not found in PATH") == true)
    }

    @Test func environmentAndPlaceholders() throws {
        let t = OneRun(); defer { t.dir.remove() }
        let data = writeDataset(t.dir, ["a/b c"])
        let out = t.dir.file("out")
        let script = "printf '%s\\n' \"$1\" \"$2\" \"$3\" \"$VELORA_INSTANCE_ID\" \"$VELORA_MODEL\" \"$VELORA_ATTEMPT\" \"$VELORA_SESSION\" \"$PWD\" > \"$VELORA_OUTPUT_DIR/seen\"; cat \"$VELORA_INSTANCE_FILE\" > \"$VELORA_OUTPUT_DIR/instance\""
        let result = try runVelora(["run", "--dataset", data, "--output", out, "--model", "name=m,llm=x/y", "--session", "s1",
                                    "--", "/bin/sh", "-c", script, "sh", "{instance_id}", "{model.llm}", "{{literal}}"], cwd: t.dir.path)
        #expect(result.code == 0, "\(result.stderr)")
        let attempt = out + "/s1/runs/m/a%2Fb%20c/attempt-1"
        #expect(lines(attempt + "/seen") == ["a/b c", "x/y", "{literal}", "a/b c", "m", "1", "s1", t.dir.path])
        // The instance file holds the dataset row byte for byte.
        #expect(lines(attempt + "/instance") == lines(data))
    }
}
