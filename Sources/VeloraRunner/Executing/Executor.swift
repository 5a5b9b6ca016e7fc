#if canImport(Glibc)
import Glibc
#endif
import VeloraEvents
import VeloraReplay

/// Everything an executor needs to start one attempt. Paths are absolute.
public struct AttemptSpec: Sendable, Equatable {
    public var run: RunIndex
    public var attempt: UInt32
    public var argv: [String]
    /// The part of the environment shared by every attempt of a model (built once).
    public var sharedEnvironment: EnvironmentBlock
    /// The attempt's own variables (`VELORA_*`); they win over the shared ones.
    public var attemptEnvironment: [String: String]
    public var workdir: String
    public var outputDir: String
    /// Where stdout and stderr go (compressed after the attempt ends).
    public var logPath: String
    /// Inherited by every process of the attempt as `VELORA_ATTEMPT_TOKEN`.
    public var token: String
    /// A name for the attempt (Slurm job name).
    public var name: String
}

extension AttemptSpec {
    /// The complete environment of the command.
    public var environment: [String: String] {
        sharedEnvironment.variables.merging(attemptEnvironment) { _, attempt in attempt }
    }
}

/// Environment variables that many attempts share, with their `NAME=value`
/// C strings made once (sorted by name), so starting an attempt copies only its own variables.
public final class EnvironmentBlock: @unchecked Sendable, Equatable {
    public let variables: [String: String]
    /// Owned by the block and never changed after `init`; freed in `deinit`.
    let entries: [UnsafeMutablePointer<CChar>]

    public init(_ variables: [String: String]) {
        self.variables = variables
        entries = variables.keys.sorted().compactMap { key in strdup(key + "=" + (variables[key] ?? "")) }
    }

    deinit {
        for p in entries { free(p) }
    }

    public static func == (a: EnvironmentBlock, b: EnvironmentBlock) -> Bool {
        a === b || a.variables == b.variables
    }
}

/// What `attemptStarted` records about the started attempt.
public struct StartedAttempt: Sendable, Equatable {
    public var pid: Int32?
    public var pgid: Int32?
    public var jobID: String?
    public var host: String
}

/// An attempt that ended, as the executor saw it (success is decided elsewhere).
public struct EndedAttempt: Sendable, Equatable {
    public var run: RunIndex
    public var attempt: UInt32
    public var exitCode: Int32?
    public var signal: Int32?
    public var executorState: String?
    /// Set when the executor itself decided the outcome (Slurm TIMEOUT, NODE_FAIL, ...).
    public var forcedOutcome: Outcome?
    public var failure: String?
}

/// What a resume learns about an attempt a previous runner left without an outcome.
public enum RecoveredAttempt: Sendable, Equatable {
    /// Gone, with no outcome known: recorded interrupted.
    case lost(reason: String)
    /// Still running (Slurm): watched again, not restarted.
    case stillRunning(StartedAttempt)
    /// It finished while no runner watched: its real outcome.
    case finished(EndedAttempt)
}

/// The seam between the scheduler's decisions and where attempts run.
/// Local processes and Slurm jobs implement it; the scheduler never knows which.
public protocol Executor: AnyObject {
    var kind: String { get }
    /// Starts an attempt. Throws `RunnerError.system` with a reason when it could not start.
    func start(_ spec: AttemptSpec) throws(RunnerError) -> StartedAttempt
    /// Asks the attempt to stop (SIGTERM or scancel).
    func terminate(run: RunIndex, attempt: UInt32)
    /// Stops the attempt now (SIGKILL).
    func kill(run: RunIndex, attempt: UInt32)
    /// A descriptor that becomes readable when `collect` may have news (or nil).
    var wakeupDescriptor: Int32? { get }
    /// How long the runner may sleep before `collect` must be called again (nil: until woken).
    func pollInterval() -> UInt64?
    /// Attempts that ended since the last call; also reaps and cleans up.
    func collect(monoNow: UInt64) -> [EndedAttempt]
    /// After a crash: finds what became of attempts a previous runner started.
    /// `sessionToken` prefixes every attempt token of the session. Throws when it cannot
    /// find out (Slurm does not answer): then nothing about those attempts may be recorded.
    func recover(_ attempts: [(RunIndex, AttemptStarted)], sessionToken: String) throws(RunnerError) -> [RunIndex: RecoveredAttempt]
    /// Re-attaches to an attempt `recover` found still running.
    func adopt(_ spec: AttemptSpec, started: StartedAttempt)
}
