import Foundation
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

/// 20 instances x 2 models = 40 runs: successes, failures (retried, then failed),
/// flaky runs that succeed on their second attempt, and timeouts.
let crashIDs = (1...11).map { "ok\($0)" } + (1...3).map { "fail\($0)" } + (1...4).map { "flaky\($0)" } + ["slow1", "slow2"]

func crashSession() -> MixedSession {
    MixedSession(ids: crashIDs, retryOn: "failed,interrupted", maxAttempts: 3, label: "velora-rel-crash")
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
        let audit = reference.audit(state)
        c.problems += audit.problems
        c.leaked += audit.leaked.count
        c.duplicated += audit.duplicated
        c.check(!state.runs.contains { $0.status == .interrupted }, "a run was interrupted without a crash")
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
            while true {
                let target = Int.random(in: 10...lastTarget, using: &rng)
                _ = waitUntil(60) { eventCount(s.layout) >= target || !process.process.isRunning }
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
                c.lost += lostEvents(before, now)
                before = now
                // The plan is a pure function of the log.
                let plan1 = try s.resume(["--dry-run"])
                let plan2 = try s.resume(["--dry-run"])
                c.check(plan1.code == 0 && plan1.stdout == plan2.stdout, "resume --dry-run differs between two calls")
                if crashes >= 3 || Bool.random(using: &rng) { break }
                process = try startVelora(["resume", "s", "--output", s.output], cwd: s.dir.path)
                // The resumed runner keeps every recorded event, as a prefix.
                _ = waitUntil(60) { eventCount(s.layout) > before.count || !process.process.isRunning }
            }
            let final = try s.resume()
            c.check(final.code == 1 || final.code == 0, "resume exit \(final.code): \(final.stderr)")
            let after = try LogReader.readAll(path: s.layout.readableLogPath ?? "").events
            c.lost += lostEvents(before, after)
            let state = SessionState(events: after)
            let audit = s.audit(state)
            c.problems += audit.problems
            c.leaked += audit.leaked.count
            c.duplicated += audit.duplicated
            let verify = cli(["verify", s.layout.root], cwd: s.dir.path)
            c.check(verify.code == 0, "verify: \(verify.out)")
            c.check(crashes >= 1, "the runner finished before any crash")
            // Outcomes equal the crash-free reference's; the whole summary too when no
            // run used up its attempts on crashes.
            let exhausted = state.runs.filter { $0.status == .interrupted }
            for run in state.runs where run.status != .interrupted {
                let key = "\(run.model)/\(run.instanceID)"
                c.check(statuses[key] == run.status, "\(key) ended \(run.status), reference \(String(describing: statuses[key]))")
            }
            ledger.tally("crashes: runs whose attempts were all used up by crashes (outcome compared only when not)", exhausted.count)
            if exhausted.isEmpty {
                ledger.tally("crashes: trials whose summary.json was compared whole with the reference")
                let mine = try deterministicSummary(s.layout)
                c.check(mine == summary, "summary.json differs from the reference:\n\(mine)\nreference:\n\(summary)")
            }
        }
    }
}
