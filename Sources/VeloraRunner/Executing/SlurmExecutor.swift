import VeloraEvents

/// Placeholder until the Slurm executor lands.
public final class SlurmExecutor {
    public init(config: SlurmConfig, host: String) throws(RunnerError) {
        throw .invalidInput("executor \"slurm\" is not available in this build yet")
    }
}
extension SlurmExecutor: Executor {
    public var kind: String { "slurm" }
    public func start(_ spec: AttemptSpec) throws(RunnerError) -> StartedAttempt { throw .system("unavailable") }
    public func terminate(run: RunIndex, attempt: UInt32) {}
    public func kill(run: RunIndex, attempt: UInt32) {}
    public var wakeupDescriptor: Int32? { nil }
    public func pollInterval() -> UInt64? { nil }
    public func collect(monoNow: UInt64) -> [EndedAttempt] { [] }
    public func recover(_ attempts: [(RunIndex, AttemptStarted)], sessionToken: String) -> [RunIndex: RecoveredAttempt] { [:] }
    public func adopt(_ spec: AttemptSpec, started: StartedAttempt) {}
}
