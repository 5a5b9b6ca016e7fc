// velora-bench: the event log's speed (append with group commit, replay/decode,
// JSONDecoder on the same events as a peer) and a generator of large sessions
// for the replay benchmarks of scripts/bench.
//
//   velora-bench codec [N]              append and replay N events (default 1,000,000)
//   velora-bench session DIR RUNS       write a finished session of RUNS runs (4 events each)
import Foundation
import VeloraEvents
import VeloraReplay

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

/// The events of a finished run after its `runQueued`: prepared, started, outcome.
func runEvents(_ run: RunIndex) -> [EventKind] {
    let started = AttemptStarted(run: run, attempt: 1, executor: "local", pid: Int32(1000 + run % 30000), pgid: Int32(1000 + run % 30000),
                                 host: "node-1", argv: ["/bin/true"], outputDir: "runs/m/i\(run)/attempt-1", timeoutMs: 7_200_000)
    var prepared = started
    prepared.pid = nil
    prepared.pgid = nil
    let ok = run % 10 != 0
    let ended = AttemptEnded(run: run, attempt: 1, exitCode: ok ? 0 : 1, durationMs: UInt64(run % 5000), reason: ok ? "exit code 0" : "exit code 1")
    return [.attemptPrepared(prepared), .attemptStarted(started), ok ? .attemptSucceeded(ended) : .attemptFailed(ended)]
}

func writeSession(dir: String, runs: Int, models: Int = 4) throws {
    let layout = SessionLayout(root: dir)
    try makeDirectories(layout.eventsDir)
    let writer = try LogWriter(path: layout.logPath)
    try writer.append(.sessionCreated(SessionCreated(sessionID: "bench", nonce: "0", config: "{}", datasetPath: "bench.jsonl",
                                                     datasetFingerprint: "-", instanceCount: UInt64(runs / models), host: "node-1",
                                                     veloraVersion: "bench")))
    var batch: [EventKind] = []
    for run in 0..<runs {
        batch.append(.runQueued(RunQueued(run: RunIndex(run), model: "model\(run % models)", instanceID: "repo__repo-\(run / models)",
                                          datasetIndex: UInt32(run / models), folder: "runs/m/i\(run)")))
        if batch.count >= 10_000 { try writer.append(batch); batch.removeAll() }
    }
    for run in 0..<runs {
        batch += runEvents(RunIndex(run))
        if batch.count >= 10_000 { try writer.append(batch); batch.removeAll() }
    }
    batch.append(.sessionCompleted(SessionCompleted(runs: UInt64(runs), succeeded: UInt64(runs - runs / 10))))
    try writer.append(batch)
}

/// A flat JSON form of the same events, for the JSONDecoder comparison.
struct FlatEvent: Codable {
    var seq: UInt64
    var time: Int64
    var kind: String
    var run: UInt32?
    var attempt: UInt32?
    var exitCode: Int32?
    var durationMs: UInt64?
    var reason: String?
    var pid: Int32?
    var host: String?
    var outputDir: String?
}

func codec(_ n: Int) throws {
    let dir = FileManager.default.temporaryDirectory.path + "/velora-bench-\(getpid())"
    try makeDirectories(dir)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/events.vlog"
    // A valid session's events, 4 a run like a real log: without `runQueued` every event
    // would name a run never queued, and the fold would measure the findings it records.
    var kinds: [EventKind] = []
    kinds.reserveCapacity(n + 4)
    var run: RunIndex = 0
    while kinds.count < n {
        kinds.append(.runQueued(RunQueued(run: run, model: "model\(run % 4)", instanceID: "repo__repo-\(run / 4)",
                                          datasetIndex: run / 4, folder: "runs/m/i\(run)")))
        kinds += runEvents(run)
        run += 1
    }
    kinds = Array(kinds.prefix(n))

    // Append: batches of 1,000 events ready together, each batch one fdatasync.
    let writer = try LogWriter(path: path)
    var t0 = now()
    var i = 0
    while i < kinds.count {
        try writer.append(Array(kinds[i..<min(i + 1000, kinds.count)]))
        i += 1000
    }
    let appendSeconds = now() - t0
    let bytes = writer.fileSize

    // Appenders that each wait for their own event (8 threads): group commit batches them.
    let concurrentPath = dir + "/concurrent.vlog"
    let concurrentWriter = try LogWriter(path: concurrentPath)
    let perThread = 5_000
    let shared = kinds
    t0 = now()
    DispatchQueue.concurrentPerform(iterations: 8) { t in
        for k in 0..<perThread { _ = try? concurrentWriter.append(shared[(t * perThread + k) % shared.count]) }
    }
    let concurrentSeconds = now() - t0

    // Replay: read and decode, three times.
    var replay: [Double] = []
    var count = 0
    for _ in 0..<3 {
        t0 = now()
        let reader = try LogReader(path: path)
        count = 0
        while try reader.next() != nil { count += 1 }
        replay.append(now() - t0)
    }
    // Replay into the fold (what `velora status` does), three times like the replay.
    var folds: [Double] = []
    for _ in 0..<3 {
        t0 = now()
        var state = SessionState()
        let reader = try LogReader(path: path)
        while let event = try reader.next() { state.apply(event) }
        folds.append(now() - t0)
        if !state.findings.isEmpty { print("fold: \(state.findings.count) findings (the generated log should have none)") }
    }
    let foldSeconds = median(folds)

    // The peer: the same events as JSON Lines through Foundation's JSONDecoder.
    let encoder = JSONEncoder()
    var jsonLines: [Data] = []
    let sample = min(n, 200_000)
    let readBack = try LogReader(path: path)
    while let e = try readBack.next(), jsonLines.count < sample {
        var f = FlatEvent(seq: e.seq, time: e.time, kind: e.kind.name)
        switch e.kind {
        case let .attemptStarted(p), let .attemptPrepared(p):
            f.run = p.run; f.attempt = p.attempt; f.pid = p.pid; f.host = p.host; f.outputDir = p.outputDir
        case let .attemptSucceeded(p), let .attemptFailed(p):
            f.run = p.run; f.attempt = p.attempt; f.exitCode = p.exitCode; f.durationMs = p.durationMs; f.reason = p.reason
        default: break
        }
        jsonLines.append(try encoder.encode(f))
    }
    let decoder = JSONDecoder()
    t0 = now()
    for line in jsonLines { _ = try decoder.decode(FlatEvent.self, from: line) }
    let jsonSeconds = now() - t0
    let jsonRate = Double(jsonLines.count) / jsonSeconds

    let decodeRate = Double(count) / median(replay)
    print("events: \(count), log bytes: \(bytes) (\(bytes / UInt64(max(count, 1))) bytes/event)")
    print(String(format: "append (group commit, 1000/batch, durable): %.0f events/s", Double(n) / appendSeconds))
    print(String(format: "append (8 threads, one event each, durable): %.0f events/s", Double(8 * perThread) / concurrentSeconds))
    print(String(format: "replay (read + decode, median of 3): %.0f events/s", decodeRate))
    print(String(format: "replay into SessionState (fold, median of 3): %.0f events/s", Double(count) / foldSeconds))
    print(String(format: "JSONDecoder on the same events as JSON Lines: %.0f events/s", jsonRate))
    print(String(format: "ratio decode / JSONDecoder: %.1fx (target >= 5x)", decodeRate / jsonRate))
}

let args = CommandLine.arguments
do {
    switch args.dropFirst().first {
    case "codec":
        try codec(args.count > 2 ? Int(args[2]) ?? 1_000_000 : 1_000_000)
    case "session":
        guard args.count > 3, let runs = Int(args[3]) else { print("usage: velora-bench session DIR RUNS"); exit(2) }
        try writeSession(dir: args[2], runs: runs)
    default:
        print("usage: velora-bench codec [N] | velora-bench session DIR RUNS")
        exit(2)
    }
} catch {
    print("velora-bench: \(error)")
    exit(1)
}
