import Foundation
import VeloraEvents
import VeloraReplay
import VeloraRunner
import VeloraTestSupport

/// A session on a small tmpfs that fills up mid-run: the runner stops with a
/// clear error, the log stays sound, and once space is freed `resume` finishes.
func fullDiskCase(_ ledger: Ledger) {
    ledger.run("full disk and lost files", "disk fills up mid-run, space freed, resume") { c in
        guard getuid() == 0 else {
            c.skipped = "mounting a tmpfs needs root (uid \(getuid()))"
            return
        }
        let dir = TempDir("velora-rel-disk")
        defer { dir.remove() }
        let mount = dir.file("mnt")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = runCommand(["/bin/mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount])
        guard mounted.status == 0 else {
            c.skipped = "mount -t tmpfs failed here: \(mounted.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
            return
        }
        defer { _ = runCommand(["/bin/umount", "-l", mount]) }
        // Leave about 1 MB: the agents' output (incompressible) fills it.
        var fs = statvfs()
        statvfs(mount, &fs)
        let free = Int(fs.f_bavail) * Int(fs.f_frsize)
        let ballast = mount + "/ballast"
        _ = FileManager.default.createFile(atPath: ballast, contents: Data(count: max(0, free - (1 << 20))))
        let s = MixedSession(ids: (1...60).map { "ok\($0)" }, label: "velora-rel-disk-data")
        defer { s.dir.remove() }
        let output = mount + "/out"
        let agent = "head -c 65536 /dev/urandom; echo \"$VELORA_MODEL/$VELORA_INSTANCE_ID/$VELORA_ATTEMPT\" >> \"$COUNT\""
        let args = ["run", "--dataset", writeDataset(s.dir, s.ids), "--output", output, "--session", "s", "--model", "name=m",
                    "--jobs", "2", "--env", "COUNT=\(s.count)"] + s.mark.flag + ["--", "/bin/sh", "-c", agent]
        let first = try runVelora(args, cwd: s.dir.path)
        c.check(first.code != 0 && first.code != 2, "exit \(first.code) on a full disk")
        c.check(first.stderr.contains("No space left on device"), "the error does not say the disk is full: \(first.stderr)")
        let layout = SessionLayout(root: output + "/s")
        let verify = cli(["verify", layout.root], cwd: s.dir.path)
        c.check(verify.code == 0, "verify on the full disk: \(verify.out)")
        let stopped = try foldSession(layout)
        c.check(!stopped.completed, "the session completed although the disk was full")
        c.check(stopped.runningCount == 0 || stopped.lastStop == nil, "the runner recorded its stop but left attempts running")
        let early = s.leftovers
        c.leaked += early.count
        c.check(early.isEmpty, "the stopped runner left processes \(early)")
        unlink(ballast)
        let second = try runVelora(["resume", layout.root], cwd: s.dir.path)
        c.check(second.code == 0 || second.code == 1, "resume exit \(second.code): \(second.stderr)")
        let state = try foldSession(layout)
        c.check(state.completed && state.runs.allSatisfy { $0.status.isTerminal }, "not completed after resume")
        // Runs cut short by the runner's stop ran again; only agents that hit the full disk themselves failed.
        c.check(!state.runs.contains { $0.status == .interrupted }, "runs left interrupted: \(state.runs.filter { $0.status == .interrupted }.map(\.instanceID))")
        c.check(state.findings.isEmpty, "findings: \(state.findings)")
        c.check(cli(["verify", layout.root], cwd: s.dir.path).code == 0, "verify after resume")
        // No attempt ran twice.
        c.duplicated += s.executions.values.map { $0 - 1 }.reduce(0, +)
        c.leaked += s.leftovers.count
    }
}

/// Deleted `reports/` or an attempt's `output.log.gz`: reports rebuild, nothing else changes.
func lostFileCases(_ ledger: Ledger) {
    let s = crashSession()
    defer { s.dir.remove() }
    var finished = false
    ledger.run("full disk and lost files", "a finished session to damage") { c in
        let r = try runVelora(s.runArgs, cwd: s.dir.path)
        c.check(r.code == 1, "exit \(r.code): \(r.stderr)")
        finished = r.code == 1
    }
    guard finished else { return }
    let reports = s.layout.reportsDir
    func reportFiles() throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: reports) {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: reports + "/" + name))
        }
        return files
    }
    ledger.run("full disk and lost files", "reports/ deleted: rebuilt byte for byte") { c in
        let before = try reportFiles()
        c.check(before.count >= 4, "only \(before.keys.sorted())")
        try FileManager.default.removeItem(atPath: reports)
        let r = try runVelora(["report", s.layout.root], cwd: s.dir.path)
        c.check(r.code == 0, "report exit \(r.code): \(r.stderr)")
        let after = try reportFiles()
        c.check(after == before, "rebuilt reports differ: \(after.keys.sorted()) vs \(before.keys.sorted())")
    }
    ledger.run("full disk and lost files", "an attempt's output.log.gz deleted: nothing else changes") { c in
        let before = try reportFiles()
        let status = cli(["status", s.layout.root, "--json"], cwd: s.dir.path)
        let state = try foldSession(s.layout)
        guard let run = state.runs.first(where: { $0.status == .succeeded }) else {
            c.problems.append("no succeeded run")
            return
        }
        let name = "\(run.model)/\(run.instanceID)"
        let log = outputLog(s.layout, run)
        c.check(unlink(log) == 0, "no \(log)")
        c.check(cli(["verify", s.layout.root], cwd: s.dir.path).code == 0, "verify")
        c.check(cli(["status", s.layout.root, "--json"], cwd: s.dir.path).out == status.out, "status changed")
        let runLog = try runVelora(["log", s.layout.root, "--run", name], cwd: s.dir.path)
        c.check(runLog.code == 0 && runLog.stdout.contains(run.instanceID), "velora log --run \(name): \(runLog.stderr)")
        try FileManager.default.removeItem(atPath: reports)
        c.check(try runVelora(["report", s.layout.root], cwd: s.dir.path).code == 0, "report")
        c.check(try reportFiles() == before, "reports differ after the log was deleted")
    }
}
