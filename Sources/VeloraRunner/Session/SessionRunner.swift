import Dispatch
import Foundation
import CVeloraShim
import VeloraEvents
import VeloraReplay

/// Sees what the runner records, to show progress. Called on the runner's thread.
public protocol RunObserver: AnyObject {
    func recorded(_ events: [Event], state: SessionState)
    /// A wakeup with nothing recorded (for clocks on screen); `interval` is how often it wants one.
    func tick(state: SessionState)
    var tickInterval: UInt64? { get }
}

/// The imperative shell around `Scheduler`: it spawns, kills, appends to the
/// log, waits for children, signals and deadlines, and feeds what happened back.
public final class SessionRunner {
    let layout: SessionLayout
    let config: RunConfig
    let writer: LogWriter
    let executor: Executor
    let dataset: Dataset
    public var observer: RunObserver?
    let lock: SessionLock
    var scheduler: Scheduler
    let sessionID: String
    let nonce: String
    let baseEnvironment: [String: String]
    let compression = DispatchQueue(label: "velora.log-compression")
    let logsToCompress = LogBatch()
    /// Whether events that something will act on were written but not yet synced.
    var unsynced = false
    var signalPipe: (read: Int32, write: Int32) = (-1, -1)
    var exitCode: Int32?
    var specs: [RunIndex: AttemptSpec] = [:]
    /// Shared environments by model name (see `sharedEnvironment(model:)`).
    var environments: [String: EnvironmentBlock] = [:]

    public init(layout: SessionLayout, lock: SessionLock, writer: LogWriter, state: SessionState, config: RunConfig,
                dataset: Dataset, executor: Executor, observer: RunObserver?,
                environment: [String: String]) throws(RunnerError) {
        guard let created = state.session else { throw .corruptLog("the log has no sessionCreated event") }
        self.layout = layout
        self.lock = lock
        self.writer = writer
        self.config = config
        self.dataset = dataset
        self.executor = executor
        self.observer = observer
        sessionID = created.sessionID
        nonce = created.nonce
        baseEnvironment = environment
        scheduler = Scheduler(state: state, policy: SchedulePolicy(config: config))
    }

    /// The fold of the session's log, as this runner has written it.
    public var state: SessionState { scheduler.state }

    /// Runs the session to its end (or to an interruption) and returns the exit code.
    public func run(command: String) throws(RunnerError) -> Int32 {
        try installSignals()
        defer { restoreSignals() }
        do {
            try record([.runnerStarted(RunnerStarted(pid: getpid(), host: hostName(), veloraVersion: veloraVersion,
                                                     command: command, executor: executor.kind))])
            try recoverLeftovers()
            try loop()
        } catch {
            let failure = (error as? RunnerError) ?? (error as? EventsError).map(RunnerError.init) ?? .system("\(error)")
            stop(on: failure)
            throw failure
        }
        compression.sync {}
        return exitCode ?? 1
    }

    /// The log or the system failed (a full disk, say): kill the attempts this
    /// runner supervises and, if the log still takes a write, record them
    /// interrupted (those that already ended with their own outcome) and the runner
    /// stopped with the error. If it does not, the log
    /// stays valid as it is (a torn tail at worst) and the next runner records them.
    /// Attempts the log shows running that this runner has not taken over yet (a
    /// failure during recovery) are left to the next runner.
    func stop(on failure: RunnerError) {
        let reason = "the runner stopped on an error: \(failure.description)"
        var kinds: [EventKind] = []
        let wall = wallMillis()
        // Attempts that ended on their own before the error keep their real outcome.
        var ended: Set<RunIndex> = []
        for e in executor.collect(monoNow: monotonicMillis()) {
            guard let s = scheduler.supervised[e.run], s.attempt == e.attempt else { continue }
            ended.insert(e.run)
            kinds += scheduler.outcomeEvents(s, finish(e), mono: monotonicMillis(), wall: wall)
        }
        for run in scheduler.state.runs where run.status == .running && !ended.contains(run.run) {
            guard let last = run.attempts.last, scheduler.supervised[run.run]?.attempt == last.number else { continue }
            executor.kill(run: run.run, attempt: last.number)
            kinds.append(.attemptInterrupted(AttemptEnded(run: run.run, attempt: last.number,
                                                          signal: executor.kind == "local" ? SIGKILL : nil,
                                                          reason: reason, byRunner: true)))
            if let retry = scheduler.retryDecision(run: run.run, attempt: last.number, outcome: .interrupted, byRunner: true,
                                                   wall: wall) {
                kinds.append(.retryScheduled(retry))
            }
        }
        _ = executor.collect(monoNow: monotonicMillis())
        compression.sync {}
        kinds.append(.runnerStopped(RunnerStopped(reason: "error", exitCode: 1, detail: failure.description)))
        try? record(kinds, durable: true)
    }

    // MARK: The loop

    func loop() throws {
        while true {
            try settle()
            if unsynced || exitCode != nil {
                try writer.sync()
                unsynced = false
            }
            if exitCode != nil { return }
            try wait()
            let mono = monotonicMillis()
            for sig in drainSignals() {
                switch sig {
                case SIGINT:
                    if scheduler.stopReason != nil { try execute(scheduler.handle(.killRequested)) }
                    else { try execute(scheduler.handle(.stopRequested(reason: "interrupted by SIGINT"))) }
                case SIGTERM, SIGHUP:
                    try execute(scheduler.handle(.stopRequested(reason: sig == SIGTERM ? "cancelled (SIGTERM)" : "interrupted by SIGHUP")))
                default:
                    break
                }
            }
            try recordExits(executor.collect(monoNow: mono))
            observer?.tick(state: scheduler.state)
        }
    }

    /// Feeds the time to the scheduler until it has nothing more to do right now:
    /// events recorded by one round (an attempt that could not start) may let it finish.
    func settle() throws {
        while exitCode == nil {
            let commands = scheduler.handle(.tick(mono: monotonicMillis(), wall: wallMillis()))
            if commands.isEmpty { return }
            try execute(commands)
        }
    }

    /// Sleeps in poll(2) until a signal (SIGCHLD included), the executor's
    /// descriptor, or the next deadline: no busy polling.
    func wait() throws {
        let (monoDue, wallDue) = scheduler.nextWakeup()
        var timeout: Int64 = -1
        if let monoDue { timeout = max(0, Int64(monoDue) - Int64(monotonicMillis())) }
        if let wallDue {
            let t = max(0, wallDue - wallMillis())
            timeout = timeout < 0 ? t : min(timeout, t)
        }
        if let interval = executor.pollInterval() {
            timeout = timeout < 0 ? Int64(interval) : min(timeout, Int64(interval))
        }
        if let interval = observer?.tickInterval {
            timeout = timeout < 0 ? Int64(interval) : min(timeout, Int64(interval))
        }
        var fds = [pollfd(fd: signalPipe.read, events: Int16(POLLIN), revents: 0)]
        if let fd = executor.wakeupDescriptor { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        _ = poll(&fds, nfds_t(fds.count), Int32(clamping: timeout))
    }

    /// Feeds attempts that ended to the scheduler. The attempts their ends make room
    /// for start only once every one of these outcomes is recorded: an error while
    /// starting one (a full disk) then loses no outcome that was already reaped.
    func recordExits(_ exits: [EndedAttempt]) throws {
        var starts: [Scheduler.Command] = []
        for ended in exits {
            let commands = scheduler.handle(.exited(run: ended.run, attempt: ended.attempt, exit: finish(ended),
                                                    mono: monotonicMillis(), wall: wallMillis()))
            try execute(commands.filter { !$0.isStart })
            starts += commands.filter(\.isStart)
        }
        try execute(starts)
    }

    func execute(_ commands: [Scheduler.Command]) throws {
        var starts: [(RunIndex, UInt32)] = []
        for command in commands {
            if case let .start(run, attempt) = command {
                starts.append((run, attempt))
                continue
            }
            try start(starts)
            starts.removeAll()
            switch command {
            case .start:
                break
            case let .terminate(run, attempt):
                executor.terminate(run: run, attempt: attempt)
            case let .kill(run, attempt):
                executor.kill(run: run, attempt: attempt)
            case let .record(kinds):
                try record(kinds)
            case let .finish(code):
                exitCode = code
            }
        }
        try start(starts)
    }

    /// Records events, written at once but synced with the next durable append:
    /// the loop syncs before it sleeps, and `attemptPrepared` is synced (with
    /// everything before it) before any process starts, so no process ever runs
    /// on the strength of an event a crash could lose.
    func record(_ kinds: [EventKind], durable: Bool = false) throws(EventsError) {
        guard !kinds.isEmpty else { return }
        let events = durable ? try writer.append(kinds) : try writer.appendUnsynced(kinds)
        // A lost `attemptStarted` is harmless (its `attemptPrepared` is durable): no sync needed for it.
        if durable { unsynced = false }
        else if kinds.contains(where: { if case .attemptStarted = $0 { false } else { true } }) { unsynced = true }
        scheduler.apply(events)
        observer?.recorded(events, state: scheduler.state)
    }

    // MARK: Attempts

    /// Starts attempts that were decided together. `attemptPrepared` is durable
    /// before any process exists, so a crash can never leave a process the log
    /// does not know about; the pids (or job ids) follow in `attemptStarted`.
    /// Each step is one group commit for the whole batch.
    func start(_ batch: [(RunIndex, UInt32)]) throws {
        guard !batch.isEmpty else { return }
        var prepared: [(AttemptSpec, AttemptStarted)] = []
        for (run, attempt) in batch {
            let r = scheduler.state.runs[Int(run)]
            let attemptFolder = SessionLayout.attemptFolder(runFolder: r.queued.folder, attempt: attempt)
            let spec = try makeSpec(run: r, attempt: attempt, outputDir: layout.root + "/" + attemptFolder)
            specs[run] = spec
            prepared.append((spec, AttemptStarted(run: run, attempt: attempt, executor: executor.kind, host: hostName(),
                                                  argv: spec.argv, outputDir: attemptFolder, timeoutMs: config.timeoutMs)))
        }
        try record(prepared.map { .attemptPrepared($0.1) }, durable: true)
        var started: [EventKind] = []
        var launchedAt: [(RunIndex, UInt32, UInt64)] = []
        var failed: [(RunIndex, UInt32, String)] = []
        for (spec, intent) in prepared {
            do throws(RunnerError) {
                let launched = try executor.start(spec)
                var event = intent
                event.pid = launched.pid
                event.pgid = launched.pgid
                event.jobID = launched.jobID
                event.host = launched.host
                started.append(.attemptStarted(event))
                launchedAt.append((spec.run, spec.attempt, monotonicMillis()))
            } catch {
                failed.append((spec.run, spec.attempt, error.description))
            }
        }
        try record(started)
        for (run, attempt, mono) in launchedAt {
            try execute(scheduler.handle(.started(run: run, attempt: attempt, mono: mono)))
        }
        for (run, attempt, reason) in failed {
            specs[run] = nil
            let mono = monotonicMillis()
            try execute(scheduler.handle(.started(run: run, attempt: attempt, mono: mono)))
            try execute(scheduler.handle(.exited(run: run, attempt: attempt, exit: AttemptExit(failure: reason),
                                                 mono: mono, wall: wallMillis())))
        }
    }

    /// Prepares the attempt's folder and instance file; renders argv and env.
    func makeSpec(run r: RunState, attempt: UInt32, outputDir: String) throws -> AttemptSpec {
        try makeDirectories(outputDir)
        let index = Int(r.queued.datasetIndex)
        guard index < dataset.instances.count, dataset.instances[index].id == r.instanceID else {
            throw RunnerError.session("the dataset snapshot does not hold \(r.instanceID.debugDescription) at row \(index)")
        }
        let instanceFile = outputDir + "/velora-instance.json"
        // Not synced: a crash re-runs the attempt under a new number, which writes it again.
        try writeFile(instanceFile, try dataset.row(index) + [0x0a])
        let model = config.models.first { $0.name == r.model }
        var values: [String: String] = [
            "instance_id": r.instanceID, "instance_file": instanceFile, "output_dir": outputDir, "model": r.model,
            "attempt": String(attempt), "session": sessionID, "session_dir": layout.root,
        ]
        for (k, v) in model?.keys ?? [:] { values["model." + k] = v }
        var argv: [String] = []
        for arg in config.command {
            argv.append((try? CommandTemplate(arg))?.render(values) ?? arg)
        }
        let token = "\(nonce):\(r.run):\(attempt)"
        let env: [String: String] = [
            "VELORA_INSTANCE_ID": r.instanceID, "VELORA_INSTANCE_FILE": instanceFile, "VELORA_OUTPUT_DIR": outputDir,
            "VELORA_MODEL": r.model, "VELORA_ATTEMPT": String(attempt), "VELORA_SESSION": sessionID,
            "VELORA_SESSION_DIR": layout.root, ProcessTable.tokenVariable: token,
        ]
        var name = r.model + "-" + r.instanceID
        if case let .slurm(s) = config.executor { name = (try? CommandTemplate(s.jobName))?.render(values) ?? name }
        return AttemptSpec(run: r.run, attempt: attempt, argv: argv, sharedEnvironment: sharedEnvironment(model: model),
                           attemptEnvironment: env, workdir: config.workdir,
                           outputDir: outputDir, logPath: outputDir + "/output.log", token: token,
                           name: "\(name)-\(nonce.prefix(8))-\(r.run)-\(attempt)")
    }

    static let attemptVariables = ["VELORA_INSTANCE_ID", "VELORA_INSTANCE_FILE", "VELORA_OUTPUT_DIR", "VELORA_MODEL",
                                   "VELORA_ATTEMPT", "VELORA_SESSION", "VELORA_SESSION_DIR", ProcessTable.tokenVariable]

    /// The environment every attempt of `model` shares: velora's, then the config's, then the model's.
    func sharedEnvironment(model: ModelConfig?) -> EnvironmentBlock {
        let name = model?.name ?? ""
        if let block = environments[name] { return block }
        var env = baseEnvironment
        for (k, v) in config.env { env[k] = v }
        for (k, v) in model?.env ?? [:] { env[k] = v }
        // The attempt's own variables are added per attempt; an inherited copy (velora run
        // inside an attempt) must not stand beside them.
        for k in Self.attemptVariables { env[k] = nil }
        let block = EnvironmentBlock(env)
        environments[name] = block
        return block
    }

    /// What the executor saw plus what the output folder shows: required files and metrics.
    func finish(_ ended: EndedAttempt) -> AttemptExit {
        let outputDir = specs[ended.run]?.outputDir ?? {
            let r = scheduler.state.runs[Int(ended.run)]
            return layout.root + "/" + SessionLayout.attemptFolder(runFolder: r.queued.folder, attempt: ended.attempt)
        }()
        specs[ended.run] = nil
        var exit = AttemptExit(exitCode: ended.exitCode, signal: ended.signal, executorState: ended.executorState,
                               failure: ended.failure, forcedOutcome: ended.forcedOutcome)
        exit.missing = config.success.require.filter { !Self.hasNonEmptyMatch(outputDir: outputDir, pattern: $0) }
        exit.metrics = TrajectoryMetrics.extract(outputDir: outputDir, run: ended.run, attempt: ended.attempt)
        compressLog(outputDir + "/output.log")
        return exit
    }

    /// Whether a glob (relative to the output folder) matches a non-empty regular file.
    static func hasNonEmptyMatch(outputDir: String, pattern: String) -> Bool {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(outputDir + "/" + pattern, 0, nil, &g) == 0 else { return false }
        for i in 0..<Int(g.gl_pathc) {
            guard let p = g.gl_pathv[i] else { continue }
            var st = stat()
            if stat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 {
                let path = String(cString: p)
                if !path.hasSuffix("/output.log") && !path.hasSuffix("/velora-instance.json") { return true }
            }
        }
        return false
    }

    /// Compresses an attempt's log off the runner's thread; the plain log is removed
    /// only once the compressed one is on disk: a crash leaves the plain log
    /// (compressed again on resume), never neither.
    func compressLog(_ path: String) {
        guard logsToCompress.add(path) else { return }
        let batch = logsToCompress
        compression.async {
            while true {
                let paths = batch.takeAll()
                if paths.isEmpty { return }
                for path in paths where fileExists(path) {
                    // The .gz is fsynced; its rename needs no folder fsync of its own: the
                    // journal commits it no later than the unlink that follows it.
                    if (try? gzipFile(from: path, to: path + ".gz", level: 1, durable: false, syncData: true)) != nil {
                        unlink(path)
                    }
                }
            }
        }
    }

    // MARK: Recovery

    /// After a crash: attempts the log shows running are looked up by the executor
    /// (killed locally; re-attached on Slurm when still running); logs a dead
    /// runner left uncompressed are compressed.
    func recoverLeftovers() throws {
        let running = scheduler.state.runs.filter { $0.status == .running }.compactMap { r -> (RunIndex, AttemptStarted)? in
            r.attempts.last.map { (r.run, $0.started) }
        }
        let found = running.isEmpty && executor.kind == "local"
            ? [:] : try executor.recover(running, sessionToken: nonce + ":")
        var finished: [EndedAttempt] = []
        for (run, started) in running {
            switch found[run] ?? .lost(reason: "the runner stopped while this attempt was running") {
            case let .lost(reason):
                var events: [EventKind] = [.attemptInterrupted(AttemptEnded(run: run, attempt: started.attempt, reason: reason,
                                                                            byRunner: true))]
                if let retry = scheduler.retryDecision(run: run, attempt: started.attempt, outcome: .interrupted, byRunner: true,
                                                       wall: wallMillis()) {
                    events.append(.retryScheduled(retry))
                }
                try record(events)
            case let .stillRunning(live):
                let r = scheduler.state.runs[Int(run)]
                let spec = try makeSpec(run: r, attempt: started.attempt, outputDir: layout.root + "/" + started.outputDir)
                specs[run] = spec
                executor.adopt(spec, started: live)
                let startedAt = r.attempts.last?.startedAt ?? wallMillis()
                let elapsed = UInt64(max(0, wallMillis() - startedAt))
                scheduler.adopt(run: run, attempt: started.attempt, mono: monotonicMillis(), elapsed: elapsed)
            case let .finished(ended):
                let r = scheduler.state.runs[Int(run)]
                let startedAt = r.attempts.last?.startedAt ?? wallMillis()
                specs[run] = try makeSpec(run: r, attempt: started.attempt, outputDir: layout.root + "/" + started.outputDir)
                scheduler.adopt(run: run, attempt: started.attempt, mono: monotonicMillis(),
                                elapsed: UInt64(max(0, wallMillis() - startedAt)))
                finished.append(ended)
            }
        }
        // Once every job still running is watched again, so that what starts next keeps to `jobs`.
        try recordExits(finished)
        // Earlier attempts' logs that a dead runner left uncompressed.
        if scheduler.state.runnerStarts > 1 {
            for r in scheduler.state.runs {
                for a in r.attempts where a.outcome != nil {
                    let log = layout.root + "/" + a.started.outputDir + "/output.log"
                    if fileExists(log) { compressLog(log) }
                }
            }
        }
    }

    // MARK: Signals

    func installSignals() throws(RunnerError) {
        var fds: [Int32] = [-1, -1]
        guard velora_pipe_cloexec_nonblock(&fds) == 0 else {
            throw .system("cannot create the signal pipe: \(String(cString: strerror(errno)))")
        }
        signalPipe = (fds[0], fds[1])
        guard velora_install_signal_pipe(fds[1]) == 0 else {
            throw .system("cannot install signal handlers: \(String(cString: strerror(errno)))")
        }
    }

    func restoreSignals() {
        velora_restore_default_signals()
        _ = close(signalPipe.read)
        _ = close(signalPipe.write)
    }

    func drainSignals() -> [Int32] {
        var out: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(signalPipe.read, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n].map { Int32($0) }
        }
        return out
    }
}

/// Paths waiting for compression, shared with the compression queue.
final class LogBatch: @unchecked Sendable {
    let lock = NSLock()
    var paths: [String] = []

    /// Adds a path; true when the queue must be woken (nothing was waiting).
    func add(_ path: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        paths.append(path)
        return paths.count == 1
    }

    func takeAll() -> [String] {
        lock.lock(); defer { lock.unlock() }
        let taken = paths
        paths.removeAll()
        return taken
    }
}
