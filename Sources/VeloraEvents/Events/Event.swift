/// One fact in a session's history. `seq` is dense from 1; `time` is UTC wall
/// time in milliseconds since the Unix epoch (durations never come from it:
/// they are measured with a monotonic clock and stored in the payloads).
public struct Event: Sendable, Equatable {
    public var seq: UInt64
    public var time: Int64
    public var kind: EventKind

    public init(seq: UInt64, time: Int64, kind: EventKind) {
        self.seq = seq
        self.time = time
        self.kind = kind
    }
}

/// Index of a run in the session: assigned densely by `runQueued`, in plan order.
public typealias RunIndex = UInt32

/// What happened. Past-tense facts; the payload types carry what reports and
/// the runner need, and new optional fields can be added without a new version.
public enum EventKind: Sendable, Equatable {
    case sessionCreated(SessionCreated)
    case runQueued(RunQueued)
    /// Recorded before the process or job is started, so that no process runs
    /// that the log does not know about; `attemptStarted` follows with its pid or job id.
    case attemptPrepared(AttemptStarted)
    case attemptStarted(AttemptStarted)
    case attemptSucceeded(AttemptEnded)
    case attemptFailed(AttemptEnded)
    case attemptTimedOut(AttemptEnded)
    case attemptInterrupted(AttemptEnded)
    case attemptMetrics(AttemptMetrics)
    case retryScheduled(RetryScheduled)
    case retryRequested(RetryRequested)
    case runnerStarted(RunnerStarted)
    case runnerStopped(RunnerStopped)
    case sessionCompleted(SessionCompleted)
    case logRepaired(LogRepaired)
    /// A kind written by a newer velora: kept, shown, and otherwise ignored.
    case unknown(code: UInt8, payload: [UInt8])

    /// The name used in `velora log` and JSON output.
    public var name: String {
        switch self {
        case .sessionCreated: "sessionCreated"
        case .runQueued: "runQueued"
        case .attemptPrepared: "attemptPrepared"
        case .attemptStarted: "attemptStarted"
        case .attemptSucceeded: "attemptSucceeded"
        case .attemptFailed: "attemptFailed"
        case .attemptTimedOut: "attemptTimedOut"
        case .attemptInterrupted: "attemptInterrupted"
        case .attemptMetrics: "attemptMetrics"
        case .retryScheduled: "retryScheduled"
        case .retryRequested: "retryRequested"
        case .runnerStarted: "runnerStarted"
        case .runnerStopped: "runnerStopped"
        case .sessionCompleted: "sessionCompleted"
        case .logRepaired: "logRepaired"
        case let .unknown(code, _): "unknown(\(code))"
        }
    }
}

/// The session's identity and everything fixed at creation.
public struct SessionCreated: Sendable, Equatable {
    public var sessionID: String
    /// A random token inherited by every process of the session (in
    /// `VELORA_ATTEMPT_TOKEN`), so a crashed runner's processes can be found.
    public var nonce: String
    /// The effective config as canonical JSON, secrets redacted.
    public var config: String
    public var datasetPath: String
    /// "crc32:XXXXXXXX bytes:N rows:N" of the dataset as read.
    public var datasetFingerprint: String
    public var instanceCount: UInt64
    public var host: String
    public var veloraVersion: String

    public init(sessionID: String, nonce: String, config: String, datasetPath: String,
                datasetFingerprint: String, instanceCount: UInt64, host: String, veloraVersion: String) {
        self.sessionID = sessionID
        self.nonce = nonce
        self.config = config
        self.datasetPath = datasetPath
        self.datasetFingerprint = datasetFingerprint
        self.instanceCount = instanceCount
        self.host = host
        self.veloraVersion = veloraVersion
    }
}

/// A (model, instance) run joins the plan.
public struct RunQueued: Sendable, Equatable {
    public var run: RunIndex
    public var model: String
    public var instanceID: String
    /// Position of the instance in the dataset (0-based).
    public var datasetIndex: UInt32
    /// The run's folder relative to the session folder: `runs/<model>/<instance>`.
    public var folder: String

    public init(run: RunIndex, model: String, instanceID: String, datasetIndex: UInt32, folder: String) {
        self.run = run
        self.model = model
        self.instanceID = instanceID
        self.datasetIndex = datasetIndex
        self.folder = folder
    }
}

/// An attempt's process or job exists.
public struct AttemptStarted: Sendable, Equatable {
    public var run: RunIndex
    public var attempt: UInt32
    /// "local" or "slurm".
    public var executor: String
    public var pid: Int32?
    public var pgid: Int32?
    public var jobID: String?
    public var host: String
    public var argv: [String]
    /// The attempt's folder relative to the session folder.
    public var outputDir: String
    /// The attempt's deadline in milliseconds after its start (0: none).
    public var timeoutMs: UInt64

    public init(run: RunIndex, attempt: UInt32, executor: String, pid: Int32? = nil, pgid: Int32? = nil,
                jobID: String? = nil, host: String, argv: [String], outputDir: String, timeoutMs: UInt64) {
        self.run = run
        self.attempt = attempt
        self.executor = executor
        self.pid = pid
        self.pgid = pgid
        self.jobID = jobID
        self.host = host
        self.argv = argv
        self.outputDir = outputDir
        self.timeoutMs = timeoutMs
    }
}

/// The end of an attempt; which outcome it was is the event kind.
public struct AttemptEnded: Sendable, Equatable {
    public var run: RunIndex
    public var attempt: UInt32
    public var exitCode: Int32?
    public var signal: Int32?
    /// Monotonic duration from spawn (or submission) to end; nil when unknown
    /// (an attempt found interrupted after a crash).
    public var durationMs: UInt64?
    /// Why it ended so, for people ("exit code 1", "missing *.traj.json", ...).
    public var reason: String
    /// The executor's own final state, e.g. Slurm's "TIMEOUT".
    public var executorState: String?
    /// True when velora itself cut the attempt short (its stop, its crash, an error of
    /// its own), not the agent or the executor (a preempted Slurm job).
    public var byRunner: Bool?

    public init(run: RunIndex, attempt: UInt32, exitCode: Int32? = nil, signal: Int32? = nil,
                durationMs: UInt64? = nil, reason: String, executorState: String? = nil, byRunner: Bool? = nil) {
        self.byRunner = byRunner
        self.run = run
        self.attempt = attempt
        self.exitCode = exitCode
        self.signal = signal
        self.durationMs = durationMs
        self.reason = reason
        self.executorState = executorState
    }
}

/// What the agent's trajectory said about an attempt. Every field is optional:
/// agents write different things, and an unreadable trajectory is a `note`.
public struct AttemptMetrics: Sendable, Equatable {
    public var run: RunIndex
    public var attempt: UInt32
    /// "mini-swe-agent", "swe-agent", "openhands" or nil when none was found.
    public var format: String?
    /// The trajectory file, relative to the attempt's folder.
    public var file: String?
    public var exitStatus: String?
    /// Whether a non-empty patch/submission was produced.
    public var submitted: Bool?
    public var submissionBytes: UInt64?
    public var cost: Double?
    public var tokensSent: UInt64?
    public var tokensReceived: UInt64?
    public var apiCalls: UInt64?
    public var note: String?

    public init(run: RunIndex, attempt: UInt32, format: String? = nil, file: String? = nil,
                exitStatus: String? = nil, submitted: Bool? = nil, submissionBytes: UInt64? = nil,
                cost: Double? = nil, tokensSent: UInt64? = nil, tokensReceived: UInt64? = nil,
                apiCalls: UInt64? = nil, note: String? = nil) {
        self.run = run
        self.attempt = attempt
        self.format = format
        self.file = file
        self.exitStatus = exitStatus
        self.submitted = submitted
        self.submissionBytes = submissionBytes
        self.cost = cost
        self.tokensSent = tokensSent
        self.tokensReceived = tokensReceived
        self.apiCalls = apiCalls
        self.note = note
    }
}

/// The run will get attempt `nextAttempt`, not before `notBefore` (UTC ms).
public struct RetryScheduled: Sendable, Equatable {
    public var run: RunIndex
    public var nextAttempt: UInt32
    public var notBefore: Int64
    public var reason: String

    public init(run: RunIndex, nextAttempt: UInt32, notBefore: Int64, reason: String) {
        self.run = run
        self.nextAttempt = nextAttempt
        self.notBefore = notBefore
        self.reason = reason
    }
}

/// `velora retry` asked for new attempts of these runs.
public struct RetryRequested: Sendable, Equatable {
    public var runs: [RunIndex]
    /// The selection as the user gave it, for the audit trail.
    public var selection: String

    public init(runs: [RunIndex], selection: String) {
        self.runs = runs
        self.selection = selection
    }
}

/// A runner took the session's lock and began (or resumed) work.
public struct RunnerStarted: Sendable, Equatable {
    public var pid: Int32
    public var host: String
    public var veloraVersion: String
    /// "run" or "resume".
    public var command: String
    public var executor: String

    public init(pid: Int32, host: String, veloraVersion: String, command: String, executor: String) {
        self.pid = pid
        self.host = host
        self.veloraVersion = veloraVersion
        self.command = command
        self.executor = executor
    }
}

/// A runner stopped on purpose (a crashed one records nothing: its absence is the sign).
public struct RunnerStopped: Sendable, Equatable {
    /// "finished", "interrupted", "cancelled" or "error".
    public var reason: String
    public var exitCode: Int32
    public var detail: String?

    public init(reason: String, exitCode: Int32, detail: String? = nil) {
        self.reason = reason
        self.exitCode = exitCode
        self.detail = detail
    }
}

/// Every run reached a final outcome.
public struct SessionCompleted: Sendable, Equatable {
    public var runs: UInt64
    public var succeeded: UInt64

    public init(runs: UInt64, succeeded: UInt64) {
        self.runs = runs
        self.succeeded = succeeded
    }
}

/// The writer found a torn tail and cut it away before appending.
public struct LogRepaired: Sendable, Equatable {
    public var offset: UInt64
    public var droppedBytes: UInt64

    public init(offset: UInt64, droppedBytes: UInt64) {
        self.offset = offset
        self.droppedBytes = droppedBytes
    }
}
