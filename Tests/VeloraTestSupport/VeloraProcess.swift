import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraCLI

/// The built `velora` binary (tests build it with `swift build --build-tests`).
public let veloraBinary: String = {
    for config in ["debug", "release"] {
        let path = repoRoot + "/.build/\(config)/velora"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return repoRoot + "/.build/debug/velora"
}()

/// The result of running velora as a subprocess.
public struct VeloraResult: Sendable {
    public var code: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs velora to its end as a subprocess.
@discardableResult
public func runVelora(_ arguments: [String], cwd: String, environment: [String: String] = [:],
                      timeLimit: Double = 180) throws -> VeloraResult {
    let result = try startVelora(arguments, cwd: cwd, environment: environment).wait(timeLimit: timeLimit)
    #expect(result.code != 128 + SIGKILL, "velora \(arguments.first ?? "") did not finish within \(timeLimit) s")
    return result
}

/// A running velora subprocess.
public final class VeloraProcess: @unchecked Sendable {
    public let process: Process
    let outFile: String
    let errFile: String

    init(process: Process, outFile: String, errFile: String) {
        self.process = process
        self.outFile = outFile
        self.errFile = errFile
    }

    public var pid: Int32 { process.processIdentifier }

    public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits, but SIGKILLs it after `timeLimit` seconds: a safety net so a hung
    /// velora fails its test instead of hanging the suite.
    public func wait(timeLimit: Double) -> VeloraResult {
        let pid = self.pid
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeLimit, execute: watchdog)
        defer { watchdog.cancel() }
        return wait()
    }

    public func wait() -> VeloraResult {
        process.waitUntilExit()
        let out = (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        unlink(outFile)
        unlink(errFile)
        let code = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return VeloraResult(code: code, stdout: out, stderr: err)
    }
}

public func startVelora(_ arguments: [String], cwd: String, environment: [String: String] = [:]) throws -> VeloraProcess {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: veloraBinary)
    p.arguments = arguments
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    for (k, v) in environment { env[k] = v }
    p.environment = env
    var rng = SystemRandomNumberGenerator()
    let tag = String(rng.next(), radix: 36)
    let outFile = FileManager.default.temporaryDirectory.path + "/velora-out-\(tag)"
    let errFile = FileManager.default.temporaryDirectory.path + "/velora-err-\(tag)"
    _ = FileManager.default.createFile(atPath: outFile, contents: nil)
    _ = FileManager.default.createFile(atPath: errFile, contents: nil)
    p.standardOutput = FileHandle(forWritingAtPath: outFile)
    p.standardError = FileHandle(forWritingAtPath: errFile)
    p.standardInput = FileHandle.nullDevice
    try p.run()
    return VeloraProcess(process: p, outFile: outFile, errFile: errFile)
}

/// The single session folder under `output`.
public func onlySession(_ output: String) throws -> SessionLayout {
    let names = try FileManager.default.contentsOfDirectory(atPath: output).sorted()
    try #require(names.count == 1, "expected one session in \(output), found \(names)")
    return SessionLayout(root: output + "/" + names[0])
}

/// Folds a session's log (plain or compressed).
public func foldSession(_ layout: SessionLayout) throws -> SessionState {
    let path = try #require(layout.readableLogPath, "no log in \(layout.root)")
    return SessionState(events: try LogReader.readAll(path: path).events)
}

/// Folds a session's log if it exists yet (no test issue when it does not).
public func quietFold(_ layout: SessionLayout) throws -> SessionState? {
    guard let path = layout.readableLogPath else { return nil }
    return SessionState(events: try LogReader.readAll(path: path).events)
}

/// Live processes whose environment holds `needle` (e.g. a test's marker).
public func processesWithEnvironment(containing needle: String) -> [Int32] {
    let me = getpid()
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    var found: [Int32] = []
    for name in names {
        guard let pid = Int32(name), pid != me else { continue }
        guard let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ"), !env.isEmpty else { continue }
        guard let state = processState(pid), state != "Z" && state != "X" else { continue }
        if env.range(of: Data(needle.utf8)) != nil { found.append(pid) }
    }
    return found
}

/// The state letter of /proc/PID/stat ("R", "S", "Z" for a zombie, ...); nil when the process is gone.
public func processState(_ pid: Int32) -> Character? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")"), stat.distance(from: close, to: stat.endIndex) > 2 else { return nil }
    return stat[stat.index(close, offsetBy: 2)]
}

/// Writes a velora.json into `dir` and returns its path.
public func writeConfig(_ dir: TempDir, _ json: String) -> String {
    dir.write("velora.json", json)
}

/// A small dataset of `ids` (one JSON object per line).
public func writeDataset(_ dir: TempDir, _ ids: [String], name: String = "data.jsonl") -> String {
    dir.write(name, ids.map { "{\"instance_id\": \(jsonString($0)), \"problem_statement\": \"fix it\"}" }.joined(separator: "\n") + "\n")
}

public func jsonString(_ s: String) -> String {
    let data = try? JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])
    let text = data.map { String(decoding: $0, as: UTF8.self) } ?? "[\"\"]"
    return String(text.dropFirst().dropLast())
}

/// Lines of a file (empty when missing).
public func lines(_ path: String) -> [String] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
}

/// Waits, without sleeping blindly, until `condition` holds or `seconds` pass.
public func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

/// Number of events in a (possibly live) log.
public func eventCount(_ layout: SessionLayout) -> Int {
    guard let path = layout.readableLogPath, let reader = try? LogReader(path: path) else { return 0 }
    var n = 0
    while (try? reader.next()) != nil { n += 1 }
    return n
}

/// Whether the environment asks for every optional suite (CI): a missing prerequisite is a failure.
public let requireAll = ProcessInfo.processInfo.environment["VELORA_TEST_REQUIRE_ALL"] == "1"

/// Runs velora under GNU time and returns its exit code and its own peak resident
/// memory in KB. (A child's ru_maxrss starts at its parent's RSS when the parent
/// is as big as the test process, so velora is started from the small `time`.)
public func runVeloraMeasured(_ arguments: [String], cwd: String) throws -> (code: Int32, maxRSSKB: Int) {
    let report = FileManager.default.temporaryDirectory.path + "/velora-time-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    defer { unlink(report) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
    p.arguments = ["-f", "%M", "-o", report, veloraBinary] + arguments
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    let kb = Int(((try? String(contentsOfFile: report, encoding: .utf8)) ?? "").split(separator: "\n").last ?? "") ?? -1
    return (p.terminationStatus, kb)
}

/// Runs the CLI in-process with captured output (no spawn: for read-only commands in bulk).
public func cli(_ args: [String], cwd: String) -> (code: Int32, out: String, err: String) {
    final class Box: @unchecked Sendable { var out = ""; var err = "" }
    let box = Box()
    let console = Console(out: { box.out += $0 }, err: { box.err += $0 }, isTerminal: false,
                          environment: ["PATH": "/usr/bin:/bin"], cwd: cwd)
    let code = VeloraCLI.run(args, console: console)
    return (code, box.out, box.err)
}
