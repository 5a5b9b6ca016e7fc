import Foundation
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

/// 20 instances x 2 models = 40 runs: successes, failures (retried, then failed),
/// flaky runs that succeed on their second attempt, and timeouts.
let crashIDs = (1...11).map { "ok\($0)" } + (1...3).map { "fail\($0)" } + (1...4).map { "flaky\($0)" } + ["slow1", "slow2"]

func crashSession() -> MixedSession {
    MixedSession(ids: crashIDs, retryOn: "failed,interrupted", maxAttempts: 3, timeout: "3s", label: "velora-rel-crash")
}

/// The parts of `summary.json` that do not depend on timing or on crashes: per
/// model and in total, the outcome counts and the trajectory metrics.
func deterministicSummary(_ layout: SessionLayout) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: layout.reportsDir + "/summary.json"))
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return "not a JSON object" }
    let keys = ["runs", "succeeded", "failed", "timed_out", "interrupted", "running", "retrying", "queued",
                "success_rate", "cost", "tokens_sent", "tokens_received", "api_calls", "patches_submitted", "agent_exit_status"]
    func pick(_ any: Any?) -> [String: Any] {
        guard let d = any as? [String: Any] else { return [:] }
        return d.filter { keys.contains($0.key) || $0.key == "model" }
    }
    let models = (object["models"] as? [Any] ?? []).map(pick)
    let picked: [String: Any] = ["completed": object["completed"] ?? "-", "totals": pick(object["totals"]), "models": models]
    return String(decoding: try JSONSerialization.data(withJSONObject: picked, options: [.sortedKeys]), as: UTF8.self)
}

/// Events of `before` that `after` no longer holds at the same place.
func lostEvents(_ before: [Event], _ after: [Event]) -> Int {
    before.indices.filter { $0 >= after.count || after[$0] != before[$0] }.count
}

/// The attempts a `resume --dry-run` plan says it will record interrupted.
func planInterrupted(_ plan: String) -> [String] {
    var out: [String] = []
    var inSection = false
    for line in plan.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("record as interrupted") { inSection = true; continue }
        if !line.hasPrefix("  ") { inSection = false }
        if inSection { out.append(line.trimmingCharacters(in: .whitespaces)) }
    }
    return out
}

/// The attempts the first runner after `offset` recorded interrupted before it
/// started anything (its recovery), as the plan writes them; nil if none started.
func recoveredAttempts(_ events: [Event], after offset: Int) -> [String]? {
    guard offset < events.count,
          let first = events[offset...].firstIndex(where: { if case .runnerStarted = $0.kind { true } else { false } }) else { return nil }
    let state = SessionState(events: events)
    var out: [String] = []
    for event in events[(first + 1)...] {
        switch event.kind {
        case let .attemptInterrupted(ended):
            let run = state.runs[Int(ended.run)]
            out.append("\(run.model)/\(run.instanceID) attempt \(ended.attempt)")
        case .attemptPrepared, .attemptStarted, .runnerStopped, .sessionCompleted:
            return out
        default:
            continue
        }
    }
    return out
}

/// SIGKILL the runner at seeded random moments, resume (some trials crash the
/// resumed runner again), and check what a user relies on after a crash.
func crashTrials(_ ledger: Ledger, trials: Int) throws {
    // The crash-free reference: the outcome of every run and the summary.
    let reference = crashSession()
    defer { reference.dir.remove() }
    var referenceSummary = ""
    var referenceStatus: [String: RunStatus] = [:]
    var referenceEvents = 0
    ledger.run("crashes", "crash-free reference session") { c in
        let r = try runVelora(reference.runArgs, cwd: reference.dir.path)
        c.check(r.code == 1, "exit \(r.code): \(r.stderr)")
        let state = try foldSession(reference.layout)
        c.absorb(reference.audit(state))
        referenceSummary = try deterministicSummary(reference.layout)
        for run in state.runs { referenceStatus["\(run.model)/\(run.instanceID)"] = run.status }
        referenceEvents = eventCount(reference.layout)
    }
    let summary = referenceSummary, statuses = referenceStatus
    let lastTarget = max(20, referenceEvents * 9 / 10)

    ledger.parallel(trials, width: 3) { trial in
        ledger.run("crashes", "SIGKILL trial \(trial)") { c in
            var rng = SeededRandom(seed: 8_000 + UInt64(trial))
            let s = crashSession()
            defer { s.dir.remove() }
            var process = try startVelora(s.runArgs, cwd: s.dir.path)
            var crashes = 0
            var before: [Event] = []
            var start = 0
            var plannedRecovery: [String]?
            while true {
                // A seeded moment: so many events into this runner's life.
                let target = start + Int.random(in: 10...max(11, lastTarget - start), using: &rng)
                _ = waitUntil(60) { eventCount(s.layout) >= target || !process.process.isRunning }
                // What the log holds just before the kill must all be there after it.
                let seen = (try? LogReader.readAll(path: s.layout.readableLogPath ?? "").events) ?? []
                let wasRunning = process.process.isRunning
                process.signal(SIGKILL)
                _ = process.wait()
                if wasRunning {
                    crashes += 1
                    ledger.tally(crashes == 1 ? "crashes: SIGKILLs of a first runner" : "crashes: SIGKILLs of a resumed runner")
                }
                guard let path = s.layout.readableLogPath else {
                    c.check(false, "no log after the crash")
                    return
                }
                let now = try LogReader.readAll(path: path).events
                c.lost += lostEvents(before, now) + lostEvents(seen, now)
                if let planned = plannedRecovery, let done = recoveredAttempts(now, after: start) {
                    c.check(done == planned, "the plan said it would record \(planned) interrupted, the resume recorded \(done)")
                }
                before = now
                start = now.count
                // The plan is a pure function of the log, and the resume does what it says.
                let plan1 = try s.resume(["--dry-run"])
                let plan2 = try s.resume(["--dry-run"])
                c.check(plan1.code == 0 && plan1.stdout == plan2.stdout, "resume --dry-run differs between two calls")
                plannedRecovery = planInterrupted(plan1.stdout)
                if crashes >= 3 || Bool.random(using: &rng) { break }
                process = try startVelora(["resume", "s", "--output", s.output], cwd: s.dir.path)
                // Aim the next kill after the resumed runner has written something (its recovery).
                _ = waitUntil(60) { eventCount(s.layout) > before.count || !process.process.isRunning }
            }
            let final = try s.resume()
            c.check(final.code == 1 || final.code == 0, "resume exit \(final.code): \(final.stderr)")
            let after = try LogReader.readAll(path: s.layout.readableLogPath ?? "").events
            c.lost += lostEvents(before, after)
            if let planned = plannedRecovery, let done = recoveredAttempts(after, after: start) {
                c.check(done == planned, "the plan said it would record \(planned) interrupted, the resume recorded \(done)")
            }
            let state = SessionState(events: after)
            c.absorb(s.audit(state))
            let verify = cli(["verify", s.layout.root], cwd: s.dir.path)
            c.check(verify.code == 0, "verify: \(verify.out)")
            c.check(crashes >= 1, "the runner finished before any crash")
            // Outcomes, counts and metrics equal the crash-free reference's (interrupted
            // attempts do not use up a run's attempts, so crashes change no outcome).
            for run in state.runs {
                let key = "\(run.model)/\(run.instanceID)"
                c.check(statuses[key] == run.status, "\(key) ended \(run.status), reference \(String(describing: statuses[key]))")
            }
            ledger.tally("crashes: attempts interrupted by a crash and run again", state.runs.map { $0.attempts.filter { $0.outcome == .interrupted }.count }.reduce(0, +))
            let mine = try deterministicSummary(s.layout)
            c.check(mine == summary, "summary.json differs from the reference:\n\(mine)\nreference:\n\(summary)")
        }
    }
}
