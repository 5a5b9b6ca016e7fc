import Foundation

/// Every failure the events module reports; the message names the file and the place.
public enum EventsError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A system call failed.
    case io(path: String, operation: String, errno: Int32)
    /// The file does not start with the velora log header.
    case notAVeloraLog(path: String)
    /// The log was written by a newer velora with a format this one cannot read.
    case unsupportedVersion(path: String, version: Int)
    /// A record before the end of the log is damaged.
    case corruptRecord(path: String, offset: UInt64, lastGoodSeq: UInt64?, detail: String)
    /// A write or fsync failed earlier; the writer refuses to go on.
    case writerStopped(path: String, cause: String)
    /// A gzip stream could not be written or read.
    case gzip(path: String, detail: String)
    /// A gzip stream's data is damaged (bad deflate data or checksum).
    case gzipDamaged(path: String, detail: String)
    /// The dataset is refused; `location` is "line N" or "index N (line M)".
    case dataset(path: String, location: String?, problem: String)

    public var description: String {
        switch self {
        case let .io(path, operation, errno):
            return "\(path): \(operation) failed: \(String(cString: strerror(errno)))"
        case let .notAVeloraLog(path):
            return "\(path): not a velora event log (bad header)"
        case let .unsupportedVersion(path, version):
            return "\(path): event log format version \(version) is newer than this velora understands"
        case let .corruptRecord(path, offset, lastGoodSeq, detail):
            let last = lastGoodSeq.map { "last good event #\($0)" } ?? "no good event before it"
            return "\(path): damaged record at byte \(offset) (\(detail)); \(last)"
        case let .writerStopped(path, cause):
            return "\(path): event log writer stopped after an earlier failure: \(cause)"
        case let .gzip(path, detail), let .gzipDamaged(path, detail):
            return "\(path): \(detail)"
        case let .dataset(path, location, problem):
            if let location { return "\(path): \(location): \(problem)" }
            return "\(path): \(problem)"
        }
    }
}
