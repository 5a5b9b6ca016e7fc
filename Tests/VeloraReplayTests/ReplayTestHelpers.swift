import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

// Helpers shared by the replay tests: real sessions through the built binary,
// plain subprocesses, byte comparisons with a readable first difference.

/// The report files `velora report` writes by default, in a fixed order.
let reportFileNames = ["report.txt", "results.csv", "attempts.csv", "summary.json", "report.html"]

/// A `/bin/sh -c` script as a velora command argument: velora replaces
/// `{placeholders}` inside arguments, so literal braces are doubled.
func literalArgument(_ script: String) -> String {
    var out = ""
    for c in script {
        switch c {
        case "{": out += "{{"
        case "}": out += "}}"
        default: out.append(c)
        }
    }
    return out
}

/// A finished session made by the real binary in a temp folder.
struct RealSession {
    let dir: TempDir
    let layout: SessionLayout
    let result: VeloraResult

    /// Runs `velora run` over `instances` x `models` with a `/bin/sh -c` agent.
    static func make(_ label: String, session: String = "s1", instances: [String], models: [String],
                     script: String, flags: [String] = []) throws -> RealSession {
        let dir = TempDir(label)
        let data = writeDataset(dir, instances)
        let output = dir.file("out")
        var args = ["run", "--dataset", data, "--output", output, "--session", session]
        for model in models { args += ["--model", "name=\(model)"] }
        args += flags + ["--", "/bin/sh", "-c", literalArgument(script)]
        let result = try runVelora(args, cwd: dir.path)
        return RealSession(dir: dir, layout: SessionLayout(root: output + "/" + session), result: result)
    }
}

/// A small deterministic agent: `ok-*` succeed with a mini-swe-agent trajectory,
/// `fail-*` exit 3, `retry*` fail on attempt 1 and succeed on attempt 2,
/// `slow*` sleep (for --timeout), anything else succeeds with a SWE-agent `.traj`.
let smallAgent = #"""
d="$VELORA_OUTPUT_DIR"
case "$VELORA_INSTANCE_ID" in
ok-*) printf '{"info":{"exit_status":"Submitted","submission":"diff\\n","model_stats":{"instance_cost":0.125,"api_calls":4}}}' > "$d/t.traj.json";;
fail-*) echo boom >&2; exit 3;;
retry*) [ "$VELORA_ATTEMPT" -ge 2 ] || exit 1; printf '{"info":{"exit_status":"Submitted","submission":"","model_stats":{"instance_cost":0.5,"api_calls":2}}}' > "$d/t.traj.json";;
slow*) exec sleep 30;;
*) printf '{"info":{"exit_status":"submitted","submission":"x","model_stats":{"instance_cost":1,"tokens_sent":10,"tokens_received":3,"api_calls":1}}}' > "$d/t.traj";;
esac
"""#

/// Flags for `smallAgent`: a retry right away for failed attempts.
let smallAgentFlags = ["--jobs", "2", "--max-attempts", "2", "--retry-on", "failed", "--backoff", "0s", "--timeout", "30s"]

/// Whole file as bytes (empty when missing).
func fileBytes(_ path: String) -> [UInt8] {
    Array(FileManager.default.contents(atPath: path) ?? Data())
}

func fileText(_ path: String) -> String {
    String(decoding: fileBytes(path), as: UTF8.self)
}

func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

func isDirectory(_ path: String) -> Bool {
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
}

/// Where two texts first differ, for a failure message a person can act on.
func firstDifference(_ expected: String, _ actual: String) -> String? {
    if expected == actual { return nil }
    let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
    for i in 0..<max(e.count, a.count) {
        let el = i < e.count ? String(e[i]) : "<end of text>"
        let al = i < a.count ? String(a[i]) : "<end of text>"
        if el != al {
            // Long lines (JSON is one line): show the neighbourhood of the first differing character.
            let e = Array(el), a = Array(al)
            var column = 0
            while column < min(e.count, a.count) && e[column] == a[column] { column += 1 }
            let from = max(0, column - 40)
            func window(_ chars: [Character]) -> String {
                (from > 0 ? "…" : "") + String(chars[min(from, chars.count)..<min(chars.count, column + 60)])
                    + (chars.count > column + 60 ? "…" : "")
            }
            return "first difference at line \(i + 1), column \(column + 1):\n"
                + "  expected: \(window(e).debugDescription)\n  actual:   \(window(a).debugDescription)"
        }
    }
    return "the texts differ only in line endings or bytes that do not split into lines"
}

/// Expects `actual` to equal the file at `path` byte for byte.
func expectSameBytes(_ actual: String, file path: String, _ context: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    let expected = fileBytes(path)
    if Array(actual.utf8) != expected {
        let why = firstDifference(String(decoding: expected, as: UTF8.self), actual) ?? "?"
        Issue.record("\(context): \(path) differs\n\(why)", sourceLocation: sourceLocation)
    }
}

/// The result of a plain subprocess.
struct ProcessOutput {
    var code: Int32
    var stdout: [UInt8]
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs a program to its end, with stdout and stderr collected through files
/// (no pipe can fill up), killing it after `timeLimit` seconds.
func runProgram(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                cwd: String? = nil, timeLimit: Double = 60) throws -> ProcessOutput {
    let scratch = TempDir("velora-proc-out")
    defer { scratch.remove() }
    let out = scratch.write("stdout", "")
    let err = scratch.write("stderr", "")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    if let environment { p.environment = environment }
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    p.standardInput = FileHandle.nullDevice
    p.standardOutput = FileHandle(forWritingAtPath: out)
    p.standardError = FileHandle(forWritingAtPath: err)
    try p.run()
    let pid = p.processIdentifier
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeLimit, execute: watchdog)
    p.waitUntilExit()
    watchdog.cancel()
    let code = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    return ProcessOutput(code: code, stdout: fileBytes(out), stderr: fileText(err))
}

/// Copies a folder tree (`cp -a`, so modes and times come along too).
func copyTree(_ from: String, to: String) throws {
    let r = try runProgram("/bin/cp", ["-a", from, to])
    try #require(r.code == 0, "cp -a \(from) \(to): \(r.stderr)")
}

/// A log file written record by record, with whatever sequence numbers the test
/// wants (`LogWriter` numbers events itself, densely).
func writeRawLog(_ path: String, _ events: [Event]) {
    var bytes = LogFormat.header
    for event in events { LogFormat.appendRecord(event, to: &bytes) }
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// A session folder holding only `events/events.vlog` with `events`, as velora
/// commands expect a session folder to look.
func sessionFolder(_ dir: TempDir, _ name: String, events: [Event]) throws -> SessionLayout {
    let layout = SessionLayout(root: dir.file(name))
    try FileManager.default.createDirectory(atPath: layout.eventsDir, withIntermediateDirectories: true)
    writeRawLog(layout.logPath, events)
    return layout
}

/// The report files as `ReportFiles.write` would produce them for `state`, in memory.
func renderedReports(_ state: SessionState, sessionLink: String = "../") -> [String: String] {
    let report = SessionReport(state)
    return [
        "report.txt": ReportRenderer.text(report),
        "results.csv": ReportRenderer.resultsCSV(report),
        "attempts.csv": ReportRenderer.attemptsCSV(state),
        "summary.json": ReportRenderer.summaryJSON(report),
        "report.html": ReportRenderer.html(report, sessionLink: sessionLink),
    ]
}
