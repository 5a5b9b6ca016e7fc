import Foundation
import VeloraEvents
import VeloraReplay
import VeloraRunner
import VeloraTestSupport

/// One agent that misbehaves, the outcome velora must record, and what else to check.
struct HostileAgent: Sendable {
    let name: String
    let script: String
    var timeout = "30s"
    let expected: RunStatus
    var signal: Int32?
    var check: (@Sendable (SessionLayout, inout CaseResult) throws -> Void)?
}

let hostileAgents: [HostileAgent] = [
    HostileAgent(name: "ignores SIGTERM", script: "trap '' TERM; sleep 60", timeout: "1s", expected: .timedOut),
    HostileAgent(name: "forks 100 grandchildren and exits", script: "for i in $(seq 100); do sleep 60 & done; exit 0", expected: .succeeded),
    HostileAgent(name: "forks 100 grandchildren that ignore SIGTERM, times out",
                 script: "for i in $(seq 100); do (trap '' TERM; sleep 60) & done; sleep 60", timeout: "1s", expected: .timedOut),
    // These two exit only once their escaped child exists (it leaves a file), so it is there to be found.
    HostileAgent(name: "setsid + sleep", script: "setsid sh -c 'touch ready; exec sleep 60' & \(waitForReady)", expected: .succeeded),
    HostileAgent(name: "double-fork daemon (fork, setsid, fork)",
                 script: "( setsid sh -c '( touch ready; exec sleep 60 ) &' & ) & \(waitForReady)", expected: .succeeded),
    HostileAgent(name: "changes its own process group", script: """
        exec python3 -c 'import os, time
        os.setpgid(0, 0)
        os.fork()
        time.sleep(60)'
        """, timeout: "1s", expected: .timedOut),
    HostileAgent(name: "new session, ignores SIGTERM, outlives a timeout",
                 script: "setsid sh -c \"trap '' TERM; sleep 60\" & sleep 60", timeout: "1s", expected: .timedOut),
    HostileAgent(name: "writes 1 GB to stdout", script: "head -c 1073741824 /dev/zero", expected: .succeeded) { layout, c in
        let log = try attemptLog(layout)
        c.check(fileExists(log), "no \(log)")
    },
    HostileAgent(name: "writes invalid UTF-8 and NUL bytes", script: "printf 'a\\377\\376b\\000c\\n'; printf '\\300\\000' >&2", expected: .succeeded) { layout, c in
        let bytes = try readAllBytes(GzipReader(path: try attemptLog(layout)))
        c.check(bytes == [0x61, 0xFF, 0xFE, 0x62, 0x00, 0x63, 0x0A, 0xC0, 0x00], "output.log.gz holds \(bytes)")
        let log = cli(["log", layout.root], cwd: "/")
        c.check(log.code == 0, "velora log: \(log.err)")
    },
    HostileAgent(name: "closes stdout and stderr and keeps running", script: "exec >&- 2>&-; sleep 1; exit 0", expected: .succeeded),
    HostileAgent(name: "exits by SIGSEGV", script: "kill -SEGV $$", expected: .failed, signal: SIGSEGV),
    HostileAgent(name: "exits by SIGKILL of its own", script: "kill -KILL $$", expected: .failed, signal: SIGKILL),
]

/// Waits for the file `ready` in the agent's working directory, then exits 0.
let waitForReady = "while [ ! -e ready ]; do sleep 0.01; done; exit 0"

/// The gzipped output of the session's only attempt.
func attemptLog(_ layout: SessionLayout) throws -> String {
    outputLog(layout, try foldSession(layout).runs.first)
}

/// Where a run's last attempt keeps its gzipped output.
func outputLog(_ layout: SessionLayout, _ run: RunState?) -> String {
    layout.root + "/" + (run?.attempts.last?.started.outputDir ?? "") + "/output.log.gz"
}

/// Each hostile agent as a one-run session of the real binary, measured by GNU time.
func hostileAgentCases(_ ledger: Ledger) {
    var baselineKB = 0
    ledger.run("hostile agents", "baseline: an agent that behaves") { c in
        let (code, kb, _) = try hostileRun("exit 0", timeout: "30s")
        c.check(code == 0, "exit \(code)")
        baselineKB = kb
        ledger.raise("hostile agents: velora's peak RSS with an agent that behaves (KB)", to: kb)
    }
    let baseline = baselineKB
    for agent in hostileAgents {
        ledger.run("hostile agents", agent.name) { c in
            let (code, kb, run) = try hostileRun(agent.script, timeout: agent.timeout)
            defer { run.dir.remove() }
            c.check(code == (agent.expected == .succeeded ? 0 : 1), "velora exit \(code)")
            let state = try foldSession(run.layout)
            let attempt = state.runs.first?.attempts.last
            c.check(state.runs.first?.status == agent.expected,
                    "ended \(String(describing: state.runs.first?.status)), expected \(agent.expected): \(attempt?.ended?.reason ?? "-")")
            if let signal = agent.signal { c.check(attempt?.ended?.signal == signal, "signal \(String(describing: attempt?.ended?.signal))") }
            let leftovers = run.mark.leftovers
            c.leaked += leftovers.count
            c.check(leftovers.isEmpty, "leftover processes \(leftovers)")
            ProcessTable.signal(leftovers, SIGKILL)
            ledger.raise("hostile agents: largest peak RSS of velora above the baseline's (KB)", to: kb - baseline)
            // Flat: the runner's peak memory is the baseline's, whatever the agent does.
            c.check(kb <= baseline + 16 * 1024, "velora's peak RSS \(kb / 1024) MB against \(baseline / 1024) MB for an agent that behaves")
            try agent.check?(run.layout, &c)
        }
    }
}

/// A one-run session whose processes carry a marker.
struct HostileRun {
    let dir = TempDir("velora-rel-hostile")
    let mark = ProcessMark()
    var layout: SessionLayout { SessionLayout(root: dir.file("out/s")) }
}

func hostileRun(_ script: String, timeout: String) throws -> (code: Int32, maxRSSKB: Int, run: HostileRun) {
    let run = HostileRun()
    let data = writeDataset(run.dir, ["i1"])
    let (code, kb) = try runVeloraMeasured(
        ["run", "--dataset", data, "--output", run.dir.file("out"), "--session", "s", "--model", "name=m",
         "--timeout", timeout, "--kill-grace", "300ms"] + run.mark.flag + ["--", "/bin/sh", "-c", script], cwd: run.dir.path)
    return (code, kb, run)
}
