import Foundation
import VeloraEvents

/// A fresh folder under the system temp dir, removed by `remove()`.
public struct TempDir: Sendable {
    public let path: String

    public init(_ label: String = "velora-test") {
        let base = FileManager.default.temporaryDirectory.path
        var rng = SystemRandomNumberGenerator()
        path = "\(base)/\(label)-\(getpid())-\(String(rng.next(), radix: 36))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func write(_ name: String, _ text: String) -> String {
        let p = file(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }

    public func write(_ name: String, bytes: [UInt8]) -> String {
        let p = file(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The repository's root, found from this file's location.
public let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A file under `Tests/Fixtures`.
public func fixture(_ relative: String) -> String { repoRoot + "/Tests/Fixtures/" + relative }

/// Everything a byte source yields.
public func readAllBytes(_ source: ByteSource) throws -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = try chunk.withMutableBytes { (raw) throws(EventsError) in try source.read(into: raw) }
        if n == 0 { return out }
        out += chunk[0..<n]
    }
}

/// Seeded randomness for tests.
public typealias SeededRandom = SplitMix64

/// One event of every kind, with every optional field set somewhere.
public func sampleEventKinds() -> [EventKind] {
    [
        .sessionCreated(SessionCreated(sessionID: "20261203-120000-abcd", nonce: "00ff", config: "{\"jobs\":2}",
                                       datasetPath: "/data/x.jsonl", datasetFingerprint: "crc32:01020304 bytes:9 rows:1",
                                       instanceCount: 1, host: "node-1", veloraVersion: "0.1.0")),
        .runQueued(RunQueued(run: 0, model: "opus", instanceID: "django__django-11099", datasetIndex: 0,
                             folder: "runs/opus/django__django-11099")),
        .attemptStarted(AttemptStarted(run: 0, attempt: 1, executor: "local", pid: 4242, pgid: 4242, jobID: "77",
                                       host: "node-1", argv: ["python", "agent.py", "--x", "ü"],
                                       outputDir: "runs/opus/django__django-11099/attempt-1", timeoutMs: 7_200_000)),
        .attemptSucceeded(AttemptEnded(run: 0, attempt: 1, exitCode: 0, durationMs: 1234, reason: "exit code 0")),
        .attemptFailed(AttemptEnded(run: 0, attempt: 1, exitCode: 1, durationMs: 5, reason: "exit code 1",
                                    executorState: "FAILED")),
        .attemptTimedOut(AttemptEnded(run: 0, attempt: 2, signal: 9, durationMs: 60_000, reason: "timed out after 1m")),
        .attemptInterrupted(AttemptEnded(run: 0, attempt: 3, signal: -15, reason: "runner crashed")),
        .attemptMetrics(AttemptMetrics(run: 0, attempt: 1, format: "mini-swe-agent", file: "x.traj.json",
                                       exitStatus: "Submitted", submitted: true, submissionBytes: 120, cost: 1.25,
                                       tokensSent: 1000, tokensReceived: 50, apiCalls: 12, note: "ok")),
        .retryScheduled(RetryScheduled(run: 0, nextAttempt: 2, notBefore: 1_790_000_000_000, reason: "failed")),
        .retryRequested(RetryRequested(runs: [0, 5, 9], selection: "--status failed")),
        .runnerStarted(RunnerStarted(pid: 99, host: "node-1", veloraVersion: "0.1.0", command: "run", executor: "local")),
        .runnerStopped(RunnerStopped(reason: "interrupted", exitCode: 130, detail: "SIGINT")),
        .sessionCompleted(SessionCompleted(runs: 10, succeeded: 8)),
        .logRepaired(LogRepaired(offset: 1000, droppedBytes: 7)),
        .unknown(code: 200, payload: [0x08, 0x01]),
        // Added after the v1 fixture was written: the fixture holds the kinds above.
        .attemptPrepared(AttemptStarted(run: 0, attempt: 2, executor: "slurm", host: "node-2", argv: ["sh"],
                                        outputDir: "runs/opus/x/attempt-2", timeoutMs: 0)),
        .attemptInterrupted(AttemptEnded(run: 0, attempt: 4, signal: 9, reason: "interrupted by SIGINT", byRunner: true)),
    ]
}

extension Dataset {
    /// Every row, in order.
    public func allRows() throws -> [[UInt8]] { try (0..<rows.count).map { try row($0) } }
}
