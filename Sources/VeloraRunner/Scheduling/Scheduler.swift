import VeloraEvents
import VeloraReplay

extension RetryPolicy {
    /// Attempts of a run that velora itself may cut short (its stop, crash or error)
    /// without counting them against `max_attempts`: a bound, so that an agent that
    /// keeps bringing the runner down is not run again without end.
    public static let freeInterruptions = 3

    /// Whether `run` gets another attempt after `attempt` ended with `outcome`
    /// (`byRunner`: velora itself cut it short). Such an interruption is not the
    /// agent's doing and does not count against `max_attempts` (up to
    /// `freeInterruptions` a run); otherwise a crash or a Ctrl-C would use up a
    /// default one-attempt run for good. A `velora retry` of the run gives it one
    /// more attempt (counted from there, so an interruption of it is free too).
    /// Interruptions the executor reports (a preempted Slurm job) count like any
    /// other outcome.
    public func retries(_ run: RunState, attempt: UInt32, outcome: Outcome, byRunner: Bool) -> Bool {
        guard outcome != .succeeded, on.contains(outcome) else { return false }
        let earlier = run.attempts.filter { $0.number != attempt && $0.number >= run.budgetFrom }
        let freeEarlier = earlier.filter { $0.outcome == .interrupted && $0.ended?.byRunner == true }.count
        let free = outcome == .interrupted && byRunner && freeEarlier < Self.freeInterruptions
        let counted = earlier.count - min(freeEarlier, Self.freeInterruptions) + (free ? 0 : 1)
        return counted < (run.budgetFrom > 1 ? 1 : maxAttempts)
    }
}

/// What the scheduler needs from the config.
public struct SchedulePolicy: Sendable, Equatable {
    public var mode: Mode
    public var jobs: Int
    /// Models in the session's order, with their caps.
    public var models: [String]
    public var maxParallel: [String: Int]
    public var timeoutMs: UInt64
    public var killGraceMs: UInt64
    public var retry: RetryPolicy
    public var success: SuccessRule

    public init(config: RunConfig) {
        mode = config.mode
        jobs = config.jobs
        models = config.models.map(\.name)
        var caps: [String: Int] = [:]
        for m in config.models { if let c = m.maxParallel { caps[m.name] = c } }
        maxParallel = caps
        timeoutMs = config.timeoutMs
        killGraceMs = config.killGraceMs
        retry = config.retry
        success = config.success
    }
}

/// How an attempt's process (or job) ended, as the executor saw it.
public struct AttemptExit: Sendable, Equatable {
    public var exitCode: Int32?
    public var signal: Int32?
    /// `require` globs with no non-empty match in the output folder.
    public var missing: [String]
    /// The executor's own final state (Slurm), if any.
    public var executorState: String?
    /// Set when the attempt never ran (spawn or submit failed), or was lost.
    public var failure: String?
    /// Set when the executor itself ended the attempt (Slurm TIMEOUT, PREEMPTED, ...).
    public var forcedOutcome: Outcome?
    public var metrics: AttemptMetrics?

    public init(exitCode: Int32? = nil, signal: Int32? = nil, missing: [String] = [], executorState: String? = nil,
                failure: String? = nil, forcedOutcome: Outcome? = nil, metrics: AttemptMetrics? = nil) {
        self.exitCode = exitCode
        self.signal = signal
        self.missing = missing
        self.executorState = executorState
        self.failure = failure
        self.forcedOutcome = forcedOutcome
        self.metrics = metrics
    }
}

/// The runner's decisions as a value: inputs in, commands out. No processes,
/// no clock, no files: time is an input. Its `state` is the fold of exactly the
/// events it asked to record (and the shell fed back through `apply`).
public struct Scheduler: Sendable {
    public enum Input: Sendable, Equatable {
        /// Time passed; `mono` is a monotonic clock, `wall` UTC ms.
        case tick(mono: UInt64, wall: Int64)
        /// The shell spawned (or submitted) the attempt and recorded `attemptStarted`.
        case started(run: RunIndex, attempt: UInt32, mono: UInt64)
        /// The attempt's process or job is gone.
        case exited(run: RunIndex, attempt: UInt32, exit: AttemptExit, mono: UInt64, wall: Int64)
        /// SIGINT or SIGTERM (or `velora cancel`): stop gracefully; a second one kills now.
        case stopRequested(reason: String)
        /// A second SIGINT: kill everything now.
        case killRequested
    }

    public enum Command: Sendable, Equatable {
        case start(run: RunIndex, attempt: UInt32)
        /// SIGTERM (or scancel) the attempt.
        case terminate(run: RunIndex, attempt: UInt32)
        /// SIGKILL the attempt's processes.
        case kill(run: RunIndex, attempt: UInt32)
        /// Append these events durably, then feed them back through `apply`, then tick:
        /// decisions that depend on them (the next start, the end) come with the next input.
        case record([EventKind])
        /// Every attempt is accounted for: exit with this code.
        case finish(exitCode: Int32)

        var isStart: Bool { if case .start = self { true } else { false } }
    }

    enum Intent: Sendable, Equatable { case none, timedOut, interrupted(String) }

    struct Supervision: Sendable, Equatable {
        var run: RunIndex
        var attempt: UInt32
        var model: Int
        var startMono: UInt64?
        var deadline: UInt64?
        var killAt: UInt64?
        var intent: Intent = .none
    }

    public private(set) var state: SessionState
    public let policy: SchedulePolicy
    var modelIndex: [String: Int] = [:]
    var queues: [[RunIndex]]
    var cursors: [Int]
    /// Runs waiting for a retry, by model.
    var retries: [Set<RunIndex>]
    var unfinished: [Int]
    var supervised: [RunIndex: Supervision] = [:]
    var runningPerModel: [Int]
    public private(set) var stopReason: String?
    public private(set) var finished = false
    var monoNow: UInt64 = 0
    var wallNow: Int64 = 0

    public init(state: SessionState, policy: SchedulePolicy) {
        self.state = state
        self.policy = policy
        let names = policy.models.isEmpty ? state.models : policy.models
        for (i, m) in names.enumerated() { modelIndex[m] = i }
        queues = Array(repeating: [], count: names.count)
        retries = Array(repeating: [], count: names.count)
        unfinished = Array(repeating: 0, count: names.count)
        runningPerModel = Array(repeating: 0, count: names.count)
        cursors = Array(repeating: 0, count: names.count)
        for run in state.runs {
            guard let m = modelIndex[run.model] else { continue }
            queues[m].append(run.run)
            if !run.status.isTerminal { unfinished[m] += 1 }
            if run.status == .retrying { retries[m].insert(run.run) }
        }
        for m in queues.indices {
            queues[m].sort { state.runs[Int($0)].queued.datasetIndex < state.runs[Int($1)].queued.datasetIndex }
        }
    }

    /// Folds events the shell appended.
    public mutating func apply(_ events: [Event]) {
        for event in events {
            let run: RunIndex?
            switch event.kind {
            case let .attemptStarted(p), let .attemptPrepared(p): run = p.run
            case let .attemptSucceeded(p), let .attemptFailed(p), let .attemptTimedOut(p), let .attemptInterrupted(p):
                run = p.run
            case let .retryScheduled(p): run = p.run
            default: run = nil
            }
            let before = run.map { state.runs[Int($0)].status.isTerminal }
            state.apply(event)
            if case let .retryRequested(request) = event.kind {
                for r in request.runs where Int(r) < state.runs.count { track(r, wasTerminal: nil) }
            }
            if let run, Int(run) < state.runs.count { track(run, wasTerminal: before) }
        }
    }

    mutating func track(_ run: RunIndex, wasTerminal: Bool?) {
        let r = state.runs[Int(run)]
        guard let m = modelIndex[r.model] else { return }
        let terminal = r.status.isTerminal
        if let wasTerminal {
            if wasTerminal && !terminal { unfinished[m] += 1 }
            if !wasTerminal && terminal { unfinished[m] -= 1 }
        } else if !terminal {
            // A retry request re-opened a finished run (counted from scratch).
            unfinished[m] = queues[m].filter { !state.runs[Int($0)].status.isTerminal }.count
        }
        if r.status == .retrying { retries[m].insert(run) } else { retries[m].remove(run) }
    }

    /// The earliest moment something is due: a deadline (monotonic) or a retry (wall).
    public func nextWakeup() -> (mono: UInt64?, wall: Int64?) {
        var mono: UInt64?
        for s in supervised.values {
            for t in [s.deadline, s.killAt].compactMap({ $0 }) { mono = min(mono ?? t, t) }
        }
        var wall: Int64?
        if stopReason == nil {
            for set in retries {
                for run in set {
                    if let nb = state.runs[Int(run)].pendingRetry?.notBefore { wall = min(wall ?? nb, nb) }
                }
            }
        }
        return (mono, wall)
    }

    public var runningCount: Int { supervised.count }

    public mutating func handle(_ input: Input) -> [Command] {
        var commands: [Command] = []
        switch input {
        case let .tick(mono, wall):
            monoNow = mono
            wallNow = wall
        case let .started(run, attempt, mono):
            monoNow = max(monoNow, mono)
            if var s = supervised[run], s.attempt == attempt {
                s.startMono = mono
                if policy.timeoutMs > 0 { s.deadline = mono + policy.timeoutMs }
                supervised[run] = s
                if s.intent != .none {
                    // Stopped while it was being started: end it now.
                    commands.append(.terminate(run: run, attempt: attempt))
                    supervised[run]?.killAt = mono + policy.killGraceMs
                }
            }
        case let .exited(run, attempt, exit, mono, wall):
            monoNow = max(monoNow, mono)
            wallNow = max(wallNow, wall)
            if let s = supervised[run], s.attempt == attempt {
                supervised[run] = nil
                runningPerModel[s.model] -= 1
                commands.append(.record(outcomeEvents(s, exit, mono: mono, wall: wall)))
            }
        case let .stopRequested(reason):
            if stopReason == nil {
                stopReason = reason
                for (run, s) in supervised.sorted(by: { $0.key < $1.key }) where s.intent == .none || s.intent == .timedOut {
                    if s.intent == .none { supervised[run]?.intent = .interrupted(reason) }
                    if s.startMono != nil {
                        commands.append(.terminate(run: run, attempt: s.attempt))
                        supervised[run]?.killAt = monoNow + policy.killGraceMs
                    }
                }
            } else {
                commands += killAll()
            }
        case .killRequested:
            if stopReason == nil { stopReason = "killed" }
            for run in supervised.keys where supervised[run]?.intent == Intent.none {
                supervised[run]?.intent = .interrupted(stopReason ?? "killed")
            }
            commands += killAll()
        }
        commands += dueKills()
        commands += starts()
        if let end = finishIfDone() { commands += end }
        return commands
    }

    mutating func killAll() -> [Command] {
        var commands: [Command] = []
        for (run, s) in supervised.sorted(by: { $0.key < $1.key }) where s.startMono != nil {
            commands.append(.kill(run: run, attempt: s.attempt))
            supervised[run]?.killAt = nil
        }
        return commands
    }

    /// Deadlines reached: SIGTERM first, SIGKILL after the grace period.
    mutating func dueKills() -> [Command] {
        var commands: [Command] = []
        for (run, s) in supervised.sorted(by: { $0.key < $1.key }) {
            if let killAt = s.killAt, monoNow >= killAt {
                commands.append(.kill(run: run, attempt: s.attempt))
                supervised[run]?.killAt = nil
                supervised[run]?.deadline = nil
            } else if let deadline = s.deadline, monoNow >= deadline, s.intent == .none {
                commands.append(.terminate(run: run, attempt: s.attempt))
                supervised[run]?.intent = .timedOut
                supervised[run]?.deadline = nil
                supervised[run]?.killAt = monoNow + policy.killGraceMs
            }
        }
        return commands
    }

    /// Which runs start now, in the plan's deterministic order.
    mutating func starts() -> [Command] {
        guard stopReason == nil else { return [] }
        let limit = policy.mode == .sequential ? 1 : policy.jobs
        var commands: [Command] = []
        while supervised.count < limit {
            guard let (run, m) = nextRun() else { break }
            let attempt = state.runs[Int(run)].nextAttempt
            supervised[run] = Supervision(run: run, attempt: attempt, model: m)
            runningPerModel[m] += 1
            retries[m].remove(run)
            commands.append(.start(run: run, attempt: attempt))
        }
        return commands
    }

    /// The next run to start, or nil when none may start now.
    mutating func nextRun() -> (RunIndex, Int)? {
        var best: (run: RunIndex, model: Int, key: (UInt32, Int))?
        for m in queues.indices {
            if policy.mode != .parallel {
                // Models one after another: only the first unfinished model may start runs.
                if let first = unfinished.firstIndex(where: { $0 > 0 }), first != m { continue }
            }
            if let cap = policy.maxParallel[policy.models.indices.contains(m) ? policy.models[m] : ""],
               runningPerModel[m] >= cap { continue }
            guard let candidate = candidate(model: m) else { continue }
            let key = (state.runs[Int(candidate)].queued.datasetIndex, m)
            if let current = best, !(key < current.key) { continue }
            best = (candidate, m, key)
        }
        return best.map { ($0.run, $0.model) }
    }

    /// A model's next startable run: a due retry, else its next never-started run.
    mutating func candidate(model m: Int) -> RunIndex? {
        var due: (run: RunIndex, index: UInt32)?
        for run in retries[m] where supervised[run] == nil {
            let r = state.runs[Int(run)]
            guard let retry = r.pendingRetry, retry.notBefore <= wallNow else { continue }
            if let current = due, current.index <= r.queued.datasetIndex { continue }
            due = (run, r.queued.datasetIndex)
        }
        if let due { return due.run }
        while cursors[m] < queues[m].count {
            let run = queues[m][cursors[m]]
            if state.runs[Int(run)].status == .queued && supervised[run] == nil { return run }
            cursors[m] += 1
        }
        return nil
    }

    /// The retry after an attempt that ended with `outcome`, if the policy gives one.
    /// An attempt velora itself cut short is retried at once: the backoff is for agents
    /// (and executors) that fail.
    func retryDecision(run: RunIndex, attempt: UInt32, outcome: Outcome, byRunner: Bool = false, wall: Int64) -> RetryScheduled? {
        guard policy.retry.retries(state.runs[Int(run)], attempt: attempt, outcome: outcome, byRunner: byRunner) else { return nil }
        let backoff = byRunner ? 0 : Int64(policy.retry.backoffMs)
        return RetryScheduled(run: run, nextAttempt: attempt + 1, notBefore: wall + backoff,
                              reason: "attempt \(attempt) \(outcome.rawValue.replacingUnderscores)")
    }

    func outcomeEvents(_ s: Supervision, _ exit: AttemptExit, mono: UInt64, wall: Int64) -> [EventKind] {
        let duration = s.startMono.map { mono >= $0 ? mono - $0 : 0 }
        var ended = AttemptEnded(run: s.run, attempt: s.attempt, exitCode: exit.exitCode, signal: exit.signal,
                                 durationMs: duration, reason: "", executorState: exit.executorState)
        let outcome: Outcome
        switch s.intent {
        case .timedOut:
            outcome = .timedOut
            ended.reason = "timed out after \(DurationParser.format(milliseconds: policy.timeoutMs))"
        case let .interrupted(reason):
            outcome = .interrupted
            ended.reason = reason
            ended.byRunner = true
        case .none:
            if let forced = exit.forcedOutcome {
                outcome = forced
                ended.reason = exit.failure ?? exit.executorState ?? forced.rawValue
            } else if let failure = exit.failure {
                outcome = .failed
                ended.reason = failure
            } else if let code = exit.exitCode, policy.success.exitCodes.contains(code) {
                if exit.missing.isEmpty {
                    outcome = .succeeded
                    ended.reason = "exit code \(code)"
                } else {
                    outcome = .failed
                    ended.reason = "exit code \(code), but no non-empty file matches \(exit.missing.joined(separator: ", "))"
                }
            } else {
                outcome = .failed
                ended.reason = describe(exit)
            }
        }
        var events: [EventKind]
        switch outcome {
        case .succeeded: events = [.attemptSucceeded(ended)]
        case .failed: events = [.attemptFailed(ended)]
        case .timedOut: events = [.attemptTimedOut(ended)]
        case .interrupted: events = [.attemptInterrupted(ended)]
        }
        if let metrics = exit.metrics { events.insert(.attemptMetrics(metrics), at: 0) }
        if let retry = retryDecision(run: s.run, attempt: s.attempt, outcome: outcome, byRunner: ended.byRunner == true, wall: wall) {
            events.append(.retryScheduled(retry))
        }
        return events
    }

    func describe(_ exit: AttemptExit) -> String {
        if let signal = exit.signal { return "killed by signal \(signal) (\(signalName(signal)))" }
        if let code = exit.exitCode { return "exit code \(code)" }
        return exit.executorState ?? "ended without an exit status"
    }

    /// When nothing runs and nothing more will start: the closing events.
    mutating func finishIfDone() -> [Command]? {
        guard !finished, supervised.isEmpty else { return nil }
        if let stopReason {
            finished = true
            let detail = stopReason
            return [.record([.runnerStopped(RunnerStopped(reason: detail.hasPrefix("cancelled") ? "cancelled" : "interrupted",
                                                           exitCode: 130, detail: detail))]),
                    .finish(exitCode: 130)]
        }
        let pendingRetries = retries.contains { !$0.isEmpty }
        if pendingRetries || unfinished.contains(where: { $0 > 0 }) { return nil }
        finished = true
        let succeeded = state.runs.filter { $0.status == .succeeded }.count
        let code: Int32 = succeeded == state.runs.count ? 0 : 1
        return [.record([.sessionCompleted(SessionCompleted(runs: UInt64(state.runs.count), succeeded: UInt64(succeeded))),
                         .runnerStopped(RunnerStopped(reason: "finished", exitCode: code))]),
                .finish(exitCode: code)]
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}

/// "SIGKILL" for 9, and so on for the usual signals.
public func signalName(_ signal: Int32) -> String {
    let names: [Int32: String] = [1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS",
                                  8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
                                  24: "SIGXCPU", 25: "SIGXFSZ"]
    return names[signal] ?? "signal \(signal)"
}

extension Scheduler {
    /// Watches an attempt a previous runner started and that is still running
    /// (re-attached after a crash); `elapsed` is how long it has run so far.
    public mutating func adopt(run: RunIndex, attempt: UInt32, mono: UInt64, elapsed: UInt64) {
        guard let m = modelIndex[state.runs[Int(run)].model] else { return }
        let start = mono >= elapsed ? mono - elapsed : 0
        var s = Supervision(run: run, attempt: attempt, model: m, startMono: start)
        if policy.timeoutMs > 0 { s.deadline = start + policy.timeoutMs }
        supervised[run] = s
        runningPerModel[m] += 1
    }
}
