#if canImport(Glibc)
import Glibc
#endif
import CVeloraShim
import VeloraEvents

/// Runs attempts as local processes, each in its own process group.
///
/// No process an attempt started outlives it: velora is a child subreaper, so
/// orphaned descendants (a `setsid` + double-fork daemon, mini-swe-agent's
/// `start_new_session` commands) are reparented to velora, not init; and every
/// process of an attempt inherits `VELORA_ATTEMPT_TOKEN`, which /proc shows
/// even after it left the process group. When an attempt ends, its group and
/// every process carrying its token are killed. cgroups would be stronger but
/// are not available everywhere.
public final class LocalExecutor: Executor {
    public let kind = "local"
    let host: String

    struct Live {
        var run: RunIndex
        var attempt: UInt32
        var pid: Int32
        var token: String
    }

    var live: [Int32: Live] = [:]
    var byRun: [RunIndex: Int32] = [:]
    var exited: [EndedAttempt] = []

    var isSubreaper = false

    public init(host: String) {
        self.host = host
    }

    /// Becomes a child subreaper when the first attempt starts (not at construction:
    /// a process that only validates a config must not start adopting orphans).
    func becomeSubreaper() {
        guard !isSubreaper else { return }
        isSubreaper = velora_set_child_subreaper() == 0
    }

    public var wakeupDescriptor: Int32? { nil }
    public func pollInterval() -> UInt64? { nil }

    public func start(_ spec: AttemptSpec) throws(RunnerError) -> StartedAttempt {
        becomeSubreaper()
        let pid = try spawn(spec)
        live[pid] = Live(run: spec.run, attempt: spec.attempt, pid: pid, token: spec.token)
        byRun[spec.run] = pid
        return StartedAttempt(pid: pid, pgid: pid, jobID: nil, host: host)
    }

    func spawn(_ spec: AttemptSpec) throws(RunnerError) -> Int32 {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }

        // Its own process group; default signal handling and an empty mask.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE, SIGQUIT] { sigaddset(&defaults, s) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, spec.logPath, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        velora_spawn_addchdir(&actions, spec.workdir)

        let argv = spec.argv.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        // The shared part was made once per model; only the attempt's own variables are copied here.
        let own = spec.attemptEnvironment.keys.sorted().map { key in
            strdup(key + "=" + (spec.attemptEnvironment[key] ?? ""))
        }
        defer { for p in own { free(p) } }
        var envp: [UnsafeMutablePointer<CChar>?] = []
        envp.reserveCapacity(spec.sharedEnvironment.entries.count + own.count + 1)
        for p in spec.sharedEnvironment.entries { envp.append(p) }
        envp += own
        envp.append(nil)

        var pid: pid_t = 0
        let rc: Int32
        if spec.argv[0].contains("/") {
            rc = posix_spawn(&pid, spec.argv[0], &actions, &attr, argv, envp)
        } else {
            // Look the program up in the command's own PATH, not velora's.
            let searchPath = spec.sharedEnvironment.variables["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
            guard let path = Self.resolve(spec.argv[0], path: searchPath) else {
                throw .system("cannot start \(spec.argv[0].debugDescription): not found in PATH")
            }
            rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        }
        guard rc == 0 else {
            throw .system("cannot start \(spec.argv[0].debugDescription): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    static func resolve(_ program: String, path: String) -> String? {
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
            if access(candidate, X_OK) == 0 {
                var st = stat()
                if stat(candidate, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { return candidate }
            }
        }
        return nil
    }

    func members(run: RunIndex, attempt: UInt32) -> (pid: Int32, token: String)? {
        guard let pid = byRun[run], let l = live[pid], l.attempt == attempt else { return nil }
        return (pid, l.token)
    }

    public func terminate(run: RunIndex, attempt: UInt32) {
        guard let (pid, token) = members(run: run, attempt: attempt) else { return }
        signalAll(pgid: pid, token: token, SIGTERM)
    }

    public func kill(run: RunIndex, attempt: UInt32) {
        guard let (pid, token) = members(run: run, attempt: attempt) else { return }
        signalAll(pgid: pid, token: token, SIGKILL)
    }

    func signalAll(pgid: Int32, token: String, _ sig: Int32) {
        _ = Glibc.kill(-pgid, sig)
        // SIGCONT too, so a stopped process acts on the SIGTERM.
        if sig == SIGTERM { _ = Glibc.kill(-pgid, SIGCONT) }
        ProcessTable.signal(ProcessTable.processes(withTokenPrefix: token), sig)
    }

    public func collect(monoNow: UInt64) -> [EndedAttempt] {
        reap()
        let done = exited
        exited.removeAll()
        return done
    }

    /// Reaps every exited child: attempts' main processes, and orphans reparented to velora.
    func reap() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            guard let l = live.removeValue(forKey: pid) else { continue }
            byRun[l.run] = nil
            cleanUp(after: l)
            var ended = EndedAttempt(run: l.run, attempt: l.attempt)
            if velora_wifexited(status) != 0 {
                ended.exitCode = velora_wexitstatus(status)
            } else if velora_wifsignaled(status) != 0 {
                ended.signal = velora_wtermsig(status)
            }
            exited.append(ended)
        }
    }

    /// Kills whatever the attempt left behind and waits until it is gone.
    func cleanUp(after l: Live) {
        _ = Glibc.kill(-l.pid, SIGKILL)
        if let children = ProcessTable.children() {
            let attemptPids = Set(live.keys)
            // Fast path: with no orphans reparented to velora, nothing of this
            // attempt survives outside its (now killed) process group.
            if children.isSubset(of: attemptPids) { return }
        }
        ensureGone(tokenPrefix: l.token)
    }

    /// SIGKILLs every process with the token until none is left (bounded).
    func ensureGone(tokenPrefix: String) {
        for round in 0..<400 {
            let pids = ProcessTable.processes(withTokenPrefix: tokenPrefix)
            // Reap orphans that already died so they do not linger as zombies.
            reapOrphans()
            if pids.isEmpty { return }
            ProcessTable.signal(pids, SIGKILL)
            var pause = timespec(tv_sec: 0, tv_nsec: round < 20 ? 1_000_000 : 10_000_000)
            nanosleep(&pause, nil)
        }
    }

    /// Reaps dead children that are not attempts (orphans); attempts' exits are kept for `reap`.
    func reapOrphans() {
        guard let children = ProcessTable.children() else { return }
        for pid in children where live[pid] == nil {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }

    public func recover(_ attempts: [(RunIndex, AttemptStarted)], sessionToken: String) -> [RunIndex: RecoveredAttempt] {
        becomeSubreaper()
        // Whatever a dead runner left running is killed: its output can no longer be trusted to be whole.
        ensureGone(tokenPrefix: sessionToken)
        var result: [RunIndex: RecoveredAttempt] = [:]
        for (run, started) in attempts {
            let pid = started.pid.map { " (pid \($0))" } ?? ""
            result[run] = .lost(reason: "the runner stopped while attempt \(started.attempt) was running\(pid); its processes were killed")
        }
        return result
    }

    public func adopt(_ spec: AttemptSpec, started: StartedAttempt) {}
}
