/// Where things live inside a session folder (SPEC: "Session folder").
public struct SessionLayout: Sendable, Equatable {
    /// The session folder, absolute.
    public let root: String

    public init(root: String) { self.root = root }

    public var eventsDir: String { root + "/events" }
    /// The plain log; after the session completes it may exist only as `log.gz`.
    public var logPath: String { eventsDir + "/events.vlog" }
    public var compressedLogPath: String { LogWriter.compressedPath(logPath) }
    public var datasetSnapshot: String { root + "/dataset.jsonl.gz" }
    public var reportsDir: String { root + "/reports" }
    public var lockPath: String { root + "/lock" }
    public var runsDir: String { root + "/runs" }

    /// The log file to read: the plain one when present, else the compressed one.
    public var readableLogPath: String? {
        if fileExists(logPath) { return logPath }
        if fileExists(compressedLogPath) { return compressedLogPath }
        return nil
    }

    /// The folder of a run, relative to the session folder.
    public static func runFolder(model: String, instanceID: String) -> String {
        "runs/\(SafeName.folder(for: model))/\(SafeName.folder(for: instanceID))"
    }

    /// The folder of an attempt, relative to the session folder.
    public static func attemptFolder(runFolder: String, attempt: UInt32) -> String {
        "\(runFolder)/attempt-\(attempt)"
    }
}
