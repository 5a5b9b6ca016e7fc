import VeloraEvents

/// Every failure the runner reports. `exitCode` maps it to velora's exit codes.
public enum RunnerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Bad config, flag or dataset: nothing was written (exit 2).
    case invalidInput(String)
    /// Another runner holds the session (exit 3).
    case locked(pid: Int32, host: String, session: String)
    /// The log is damaged (exit 4).
    case corruptLog(String)
    /// The session folder or log cannot be used.
    case session(String)
    /// A system failure while running (disk full, fork failure, ...).
    case system(String)

    public var description: String {
        switch self {
        case let .invalidInput(message): message
        case let .locked(pid, host, session):
            "session \(session) is locked by a live runner (pid \(pid) on \(host)); use `velora cancel` to stop it"
        case let .corruptLog(message): message
        case let .session(message): message
        case let .system(message): message
        }
    }

    /// Wraps an events-module error, telling damage from other failures.
    public init(_ error: EventsError) {
        switch error {
        case .corruptRecord, .notAVeloraLog, .unsupportedVersion, .gzipDamaged: self = .corruptLog(error.description)
        case .dataset: self = .invalidInput(error.description)
        default: self = .system(error.description)
        }
    }
}
