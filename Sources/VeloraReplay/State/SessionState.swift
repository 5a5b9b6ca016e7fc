import VeloraEvents

/// How an attempt ended.
public enum Outcome: String, Sendable, Equatable, CaseIterable {
    case succeeded
    case failed
    case timedOut = "timed_out"
    case interrupted
}

/// Where a run stands.
public enum RunStatus: String, Sendable, Equatable, CaseIterable {
    /// Not started yet.
    case queued
    case running
    /// Its last attempt did not succeed and another is scheduled.
    case retrying
    case succeeded
    case failed
    case timedOut = "timed_out"
    case interrupted

    public var isTerminal: Bool {
        switch self {
        case .queued, .running, .retrying: false
        case .succeeded, .failed, .timedOut, .interrupted: true
        }
    }

    /// Its position in `allCases`.
    var position: Int {
        switch self {
        case .queued: 0
        case .running: 1
        case .retrying: 2
        case .succeeded: 3
        case .failed: 4
        case .timedOut: 5
        case .interrupted: 6
        }
    }

    init(_ outcome: Outcome) {
        switch outcome {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .timedOut: self = .timedOut
        case .interrupted: self = .interrupted
        }
    }
}

/// One attempt as the log tells it.
public struct AttemptState: Sendable, Equatable {
    public var number: UInt32
    public var started: AttemptStarted
    /// Wall time of `attemptStarted` (UTC ms).
    public var startedAt: Int64
    public var outcome: Outcome?
    public var ended: AttemptEnded?
    public var endedAt: Int64?
    /// False while only `attemptPrepared` is known: the runner may have died before it started the process.
    public var launched: Bool = true
    /// Boxed: inline, the (mostly absent) metrics would take ~160 bytes in every attempt of a
    /// 100,000-run session.
    private var metricsBox: MetricsBox?

    public var metrics: AttemptMetrics? {
        get { metricsBox?.value }
        set { metricsBox = newValue.map(MetricsBox.init) }
    }

    init(number: UInt32, started: AttemptStarted, startedAt: Int64, launched: Bool) {
        self.number = number
        self.started = started
        self.startedAt = startedAt
        self.launched = launched
    }
}

/// An attempt's metrics out of line (immutable, compared by value).
final class MetricsBox: Sendable, Equatable {
    let value: AttemptMetrics
    init(_ value: AttemptMetrics) { self.value = value }
    static func == (a: MetricsBox, b: MetricsBox) -> Bool { a.value == b.value }
}

/// One (model, instance) run.
public struct RunState: Sendable, Equatable {
    public var queued: RunQueued
    public var attempts: [AttemptState] = []
    /// Set while another attempt is scheduled and not yet started.
    public var pendingRetry: RetryScheduled?
    /// The first attempt that counts against the retry policy: 1, or the attempt that
    /// followed the last `velora retry` of this run.
    public var budgetFrom: UInt32 = 1

    public var run: RunIndex { queued.run }
    public var model: String { queued.model }
    public var instanceID: String { queued.instanceID }

    public var status: RunStatus {
        guard let last = attempts.last else { return pendingRetry == nil ? .queued : .retrying }
        guard let outcome = last.outcome else { return .running }
        if pendingRetry != nil { return .retrying }
        return RunStatus(outcome)
    }

    /// The attempt number the next start gets.
    public var nextAttempt: UInt32 { UInt32(attempts.count) + 1 }

    /// Whether this run waits to be started (never started, or a retry is due).
    public var isPending: Bool {
        status == .queued || status == .retrying
    }
}

/// Something in the log that cannot have happened in a correct session.
public struct Finding: Sendable, Equatable, CustomStringConvertible {
    public var seq: UInt64
    public var message: String

    public var description: String { "event #\(seq): \(message)" }
}

/// A session as a pure fold of its events: no clock, no file system, no
/// environment. Every log folds; what cannot have happened becomes a `Finding`.
public struct SessionState: Sendable, Equatable {
    public var session: SessionCreated?
    public var runs: [RunState] = []
    public var models: [String] = []
    public var lastSeq: UInt64 = 0
    public var firstTime: Int64?
    public var lastTime: Int64?
    /// The runner that started last and has not recorded its stop.
    public var liveRunner: RunnerStarted?
    public var lastStop: RunnerStopped?
    public var runnerStarts = 0
    public var completed = false
    public var repairs: [LogRepaired] = []
    public var unknownEvents = 0
    public var findings: [Finding] = []
    /// Runs with an attempt started and not ended.
    public private(set) var runningCount = 0
    var modelIndex: [String: Int] = [:]

    public init() {}

    /// Folds a sequence of events.
    public init<S: Sequence>(events: S) where S.Element == Event {
        self.init()
        for event in events { apply(event) }
    }

    public func run(model: String, instanceID: String) -> RunState? {
        runs.first { $0.model == model && $0.instanceID == instanceID }
    }

    mutating func note(_ seq: UInt64, _ message: String) {
        findings.append(Finding(seq: seq, message: message))
    }

    /// Folds one event into the state.
    public mutating func apply(_ event: Event) {
        if event.seq != lastSeq &+ 1 {
            note(event.seq, event.seq <= lastSeq
                 ? "sequence number goes back (after #\(lastSeq))"
                 : event.seq == lastSeq &+ 2 ? "sequence gap: #\(lastSeq &+ 1) missing"
                 : "sequence gap: #\(lastSeq &+ 1)...#\(event.seq &- 1) missing")
        }
        lastSeq = max(lastSeq, event.seq)
        if firstTime == nil { firstTime = event.time }
        lastTime = event.time
        switch event.kind {
        case let .sessionCreated(created):
            if session != nil { note(event.seq, "a second sessionCreated") } else { session = created }
        case let .runQueued(queued):
            guard Int(queued.run) == runs.count else {
                note(event.seq, "runQueued for run \(queued.run), expected run \(runs.count)")
                return
            }
            if modelIndex[queued.model] == nil {
                modelIndex[queued.model] = models.count
                models.append(queued.model)
            }
            runs.append(RunState(queued: queued))
        case let .attemptPrepared(prepared):
            guard let r = index(prepared.run, event) else { return }
            begin(r, prepared, event, launched: false)
        case let .attemptStarted(started):
            guard let r = index(started.run, event) else { return }
            if let a = runs[r].attempts.indices.last, runs[r].attempts[a].number == started.attempt,
               !runs[r].attempts[a].launched {
                // The process of a prepared attempt now exists.
                if runs[r].attempts[a].outcome != nil {
                    note(event.seq, "attempt \(started.attempt) of \(label(r)) started after it ended")
                }
                runs[r].attempts[a].started = started
                runs[r].attempts[a].started.argv = []
                runs[r].attempts[a].launched = true
                return
            }
            begin(r, started, event, launched: true)
        case let .attemptSucceeded(ended): end(ended, .succeeded, event)
        case let .attemptFailed(ended): end(ended, .failed, event)
        case let .attemptTimedOut(ended): end(ended, .timedOut, event)
        case let .attemptInterrupted(ended): end(ended, .interrupted, event)
        case let .attemptMetrics(metrics):
            guard let r = index(metrics.run, event) else { return }
            guard let a = runs[r].attempts.lastIndex(where: { $0.number == metrics.attempt }) else {
                note(event.seq, "metrics for attempt \(metrics.attempt) of \(label(r)), which never started")
                return
            }
            runs[r].attempts[a].metrics = metrics
        case let .retryScheduled(retry):
            guard let r = index(retry.run, event) else { return }
            if runs[r].status == .running {
                note(event.seq, "retry scheduled for \(label(r)) while an attempt is running")
            }
            runs[r].pendingRetry = retry
        case let .retryRequested(request):
            for run in request.runs {
                guard let r = index(run, event) else { continue }
                if runs[r].status == .running {
                    note(event.seq, "retry requested for \(label(r)) while an attempt is running")
                    continue
                }
                runs[r].pendingRetry = RetryScheduled(run: run, nextAttempt: runs[r].nextAttempt,
                                                      notBefore: event.time, reason: "requested: \(request.selection)")
                runs[r].budgetFrom = runs[r].nextAttempt
            }
            if !request.runs.isEmpty { completed = false }
        case let .runnerStarted(started):
            liveRunner = started
            runnerStarts += 1
        case let .runnerStopped(stopped):
            if liveRunner == nil { note(event.seq, "runnerStopped without a runner") }
            liveRunner = nil
            lastStop = stopped
        case .sessionCompleted:
            if let open = runs.first(where: { !$0.status.isTerminal }) {
                note(event.seq, "sessionCompleted while \(label(Int(open.run))) is \(open.status.rawValue)")
            }
            completed = true
        case let .logRepaired(repair):
            repairs.append(repair)
        case .unknown:
            unknownEvents += 1
        }
    }

    mutating func begin(_ r: Int, _ started: AttemptStarted, _ event: Event, launched: Bool) {
        let expected = runs[r].nextAttempt
        if let last = runs[r].attempts.last, last.outcome == nil {
            note(event.seq, "attempt \(started.attempt) of \(label(r)) started while attempt \(last.number) is running")
        } else if started.attempt != expected {
            note(event.seq, "attempt \(started.attempt) of \(label(r)) started; expected attempt \(expected)")
        }
        if runs[r].attempts.last?.outcome != nil || runs[r].attempts.isEmpty { runningCount += 1 }
        // The argv stays in the log (`velora log`); the fold keeps what projections use.
        var kept = started
        kept.argv = []
        runs[r].attempts.append(AttemptState(number: started.attempt, started: kept, startedAt: event.time,
                                             launched: launched))
        runs[r].pendingRetry = nil
        if completed { completed = false }
    }

    func label(_ r: Int) -> String { "\(runs[r].model)/\(runs[r].instanceID)" }

    mutating func index(_ run: RunIndex, _ event: Event) -> Int? {
        guard Int(run) < runs.count else {
            note(event.seq, "\(event.kind.name) for run \(run), which was never queued")
            return nil
        }
        return Int(run)
    }

    mutating func end(_ ended: AttemptEnded, _ outcome: Outcome, _ event: Event) {
        guard let r = index(ended.run, event) else { return }
        guard let a = runs[r].attempts.lastIndex(where: { $0.number == ended.attempt }) else {
            note(event.seq, "\(event.kind.name) for attempt \(ended.attempt) of \(label(r)), which never started")
            return
        }
        if let previous = runs[r].attempts[a].outcome {
            note(event.seq, "attempt \(ended.attempt) of \(label(r)) ended twice (\(previous.rawValue), then \(outcome.rawValue))")
            return
        }
        runs[r].attempts[a].outcome = outcome
        runs[r].attempts[a].ended = ended
        runs[r].attempts[a].endedAt = event.time
        if a == runs[r].attempts.count - 1 { runningCount -= 1 }
    }
}
