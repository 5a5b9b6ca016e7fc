import Foundation
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

/// Two runners on one session: one wins, the other exits 3 naming the holder.
/// Readers during heavy appends see only whole events.
func concurrencyCases(_ ledger: Ledger, races: Int) {
    for trial in 0..<races {
        ledger.run("concurrency", "two resumes race on a crashed session (\(trial))") { c in
            let s = crashSession()
            defer { s.dir.remove() }
            let first = try startVelora(s.runArgs, cwd: s.dir.path)
            let reached = waitUntil(60) { eventCount(s.layout) >= 30 + 10 * trial }
            c.check(reached && first.process.isRunning, "the first runner was not running when it was to be killed")
            first.signal(SIGKILL)
            _ = first.wait()
            let a = try startVelora(["resume", "s", "--output", s.output], cwd: s.dir.path)
            let b = try startVelora(["resume", "s", "--output", s.output], cwd: s.dir.path)
            let (ra, rb) = (a.wait(timeLimit: 120), b.wait(timeLimit: 120))
            let codes = [ra.code, rb.code].sorted()
            c.check([0, 1].contains(codes[0]) && codes[1] == 3, "exit codes \(ra.code) and \(rb.code)")
            let loser = ra.code == 3 ? ra : rb
            c.check(loser.stderr.contains("locked by a live runner (pid "), "the refusal does not name the runner: \(loser.stderr)")
            c.absorb(s.audit(try foldSession(s.layout)))
        }
    }
    ledger.run("concurrency", "two runs create the same session at once") { c in
        let s = crashSession()
        defer { s.dir.remove() }
        let a = try startVelora(s.runArgs, cwd: s.dir.path)
        let b = try startVelora(s.runArgs, cwd: s.dir.path)
        let (ra, rb) = (a.wait(timeLimit: 120), b.wait(timeLimit: 120))
        let codes = [ra.code, rb.code].sorted()
        let loser = ra.code == 1 ? rb : ra
        c.check(codes == [1, 2] || codes == [1, 3], "exit codes \(ra.code) and \(rb.code): \(loser.stderr)")
        c.check(loser.stderr.contains("already exists") || loser.stderr.contains("locked by a live runner"), "refusal: \(loser.stderr)")
        c.absorb(s.audit(try foldSession(s.layout)))
    }
    ledger.run("concurrency", "resume and run --session while a runner is live") { c in
        let s = crashSession()
        defer { s.dir.remove() }
        let runner = try startVelora(s.runArgs, cwd: s.dir.path)
        let reached = waitUntil(60) { eventCount(s.layout) >= 20 }
        c.check(reached && runner.process.isRunning, "the runner was not live when the others tried")
        let resume = try s.resume()
        c.check(resume.code == 3 && resume.stderr.contains("locked by a live runner (pid \(runner.pid) on"), "resume: \(resume.code) \(resume.stderr)")
        let again = try runVelora(s.runArgs, cwd: s.dir.path)
        c.check(again.code == 2 && again.stderr.contains("already exists; use `velora resume s`"), "run: \(again.code) \(again.stderr)")
        c.check(runner.wait(timeLimit: 120).code == 1, "the live runner was disturbed")
        c.absorb(s.audit(try foldSession(s.layout)))
    }
    ledger.run("concurrency", "status and log --follow during 3,000 fast runs") { c in
        let dir = TempDir("velora-rel-readers")
        defer { dir.remove() }
        let data = writeDataset(dir, (0..<3000).map { "i\($0)" })
        let root = dir.file("out/s")
        let runner = try startVelora(["run", "--dataset", data, "--output", dir.file("out"), "--session", "s", "--model", "name=m",
                                      "--jobs", "2", "--", "/bin/true"], cwd: dir.path)
        _ = waitUntil(60) { fileExists(root + "/events/events.vlog") }
        let follow = try startVelora(["log", root, "--follow", "--json"], cwd: dir.path)
        var reads = 0
        var lastDone = -1
        while runner.process.isRunning {
            let status = cli(["status", root, "--json"], cwd: dir.path)
            guard status.code == 0,
                  let object = try? JSONSerialization.jsonObject(with: Data(status.out.utf8)) as? [String: Any],
                  let models = object["models"] as? [[String: Any]], let all = models.last else {
                c.lost += 1
                c.problems.append("status during appends: exit \(status.code) \(status.err) \(status.out.prefix(200))")
                continue
            }
            let counts = ["queued", "running", "retrying", "succeeded", "failed", "timed_out", "interrupted"].map { all[$0] as? Int ?? -1 }
            c.check(counts.reduce(0, +) == all["runs"] as? Int ?? -2, "status counts do not add up: \(all)")
            let done = all["succeeded"] as? Int ?? 0
            c.check(done >= lastDone, "succeeded went back from \(lastDone) to \(done)")
            lastDone = done
            reads += 1
            usleep(20_000)  // pacing, so the reader does not take the runner's core
        }
        c.check(runner.wait(timeLimit: 120).code == 0, "the runner failed")
        let followed = follow.wait(timeLimit: 60)
        let events = try LogReader.readAll(path: SessionLayout(root: root).readableLogPath ?? "").events
        var seqs: [UInt64] = []
        for line in followed.stdout.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let seq = (object["seq"] as? NSNumber)?.uint64Value else {
                c.problems.append("log --follow printed a line that is not a whole event: \(line.prefix(120))")
                continue
            }
            seqs.append(seq)
        }
        c.lost += max(0, events.count - seqs.count)
        c.check(seqs == events.map(\.seq), "log --follow saw \(seqs.count) events, the log holds \(events.count)")
        c.check(reads >= 3, "only \(reads) status reads while the runner was live")
    }
}
