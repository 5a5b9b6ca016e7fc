import Foundation
import VeloraEvents
import VeloraReplay

/// Finding, creating and reading sessions.
public enum SessionStore {
    /// A new session id: `YYYYMMDD-HHMMSS-<4 hex>` in UTC.
    public static func newSessionID(wall: Int64) -> String {
        var t = time_t(wall / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let date = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
        let time = "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
        let hex = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        return "\(date)-\(time)-\(String(repeating: "0", count: 4 - hex.count))\(hex)"
    }

    /// Checks a `--session NAME`: a plain folder name.
    public static func validateName(_ name: String) throws(RunnerError) {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\u{0}"),
              name.utf8.count <= 200 else {
            throw .invalidInput("--session: \(name.debugDescription) is not a usable folder name")
        }
    }

    /// Creates the session folder, its dataset snapshot and its log with
    /// `sessionCreated` and every `runQueued`. Everything is validated before;
    /// if creation fails halfway, the folder is removed.
    public static func create(config: RunConfig, dataset: Dataset, sessionName: String?, wall: Int64)
        throws(RunnerError) -> (layout: SessionLayout, lock: SessionLock, writer: LogWriter, id: String) {
        let id = sessionName ?? newSessionID(wall: wall)
        try validateName(id)
        let root = config.output + "/" + id
        let exists = RunnerError.invalidInput("session folder \(root) already exists; use `velora resume \(id)` to continue it")
        if fileExists(root) { throw exists }
        let layout = SessionLayout(root: root)
        // The session folder itself is made by one mkdir: of two runs creating the same
        // session at once, exactly one makes it (and may remove it if it fails); the other stops.
        do throws(EventsError) {
            try makeDirectories(config.output)
        } catch {
            throw .system("cannot create the sessions folder: \(error)")
        }
        if mkdir(root, 0o755) != 0 {
            if errno == EEXIST { throw exists }
            throw .system("cannot create the session folder: \(EventsError.io(path: root, operation: "mkdir", errno: errno))")
        }
        do throws(EventsError) {
            try makeDirectories(layout.eventsDir)
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw .system("cannot create the session folder: \(error)")
        }
        do {
            let lock = try SessionLock(layout: layout, sessionName: id)
            try dataset.writeSnapshot(to: layout.datasetSnapshot)
            let writer = try LogWriter(path: layout.logPath)
            var nonce = SystemRandomNumberGenerator()
            let token = String(nonce.next(), radix: 16)
            var kinds: [EventKind] = [.sessionCreated(SessionCreated(
                sessionID: id, nonce: token, config: config.canonicalJSON(), datasetPath: dataset.path,
                datasetFingerprint: dataset.fingerprint, instanceCount: UInt64(dataset.instances.count),
                host: hostName(), veloraVersion: veloraVersion))]
            kinds.reserveCapacity(config.models.count * dataset.instances.count + 1)
            var run: RunIndex = 0
            for model in config.models {
                for (i, instance) in dataset.instances.enumerated() {
                    kinds.append(.runQueued(RunQueued(
                        run: run, model: model.name, instanceID: instance.id, datasetIndex: UInt32(i),
                        folder: SessionLayout.runFolder(model: model.name, instanceID: instance.id))))
                    run += 1
                }
            }
            try writer.append(kinds)
            return (layout, lock, writer, id)
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            if let e = error as? RunnerError { throw e }
            if let e = error as? EventsError { throw RunnerError(e) }
            throw .system("cannot create the session: \(error)")
        }
    }

    /// Resolves SESSION (an id under `output`, or a folder path); nil: the newest.
    public static func locate(_ session: String?, output: String) throws(RunnerError) -> SessionLayout {
        if let session {
            if session.contains("/") || fileExists(session + "/events") {
                let root = absolute(session, base: FileManager.default.currentDirectoryPath)
                guard fileExists(root + "/events") else { throw .invalidInput("\(session): not a velora session folder (no events/)") }
                return SessionLayout(root: root)
            }
            let root = output + "/" + session
            guard fileExists(root + "/events") else {
                throw .invalidInput("no session \(session.debugDescription) under \(output)")
            }
            return SessionLayout(root: root)
        }
        guard let newest = list(output: output).last else {
            throw .invalidInput("no sessions under \(output)")
        }
        return newest
    }

    /// Sessions under `output`, oldest first (by name: ids sort by time).
    public static func list(output: String) -> [SessionLayout] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: output) else { return [] }
        return names.sorted().map { SessionLayout(root: output + "/" + $0) }.filter { fileExists($0.eventsDir) }
    }

    /// Reads and folds a session's log. Damage throws `.corruptLog`.
    public static func load(_ layout: SessionLayout) throws(RunnerError) -> (state: SessionState, tail: LogTail) {
        guard let path = layout.readableLogPath else { throw .session("\(layout.root): the session has no event log") }
        do throws(EventsError) {
            let reader = try LogReader(path: path)
            var state = SessionState()
            while let event = try reader.next() { state.apply(event) }
            return (state, reader.tail)
        } catch {
            throw RunnerError(error)
        }
    }

    /// The config recorded at creation.
    public static func recordedConfig(_ state: SessionState) throws(RunnerError) -> RunConfig {
        guard let created = state.session else { throw .corruptLog("the log has no sessionCreated event") }
        return try RunConfig.parse(json: Array(created.config.utf8), source: "the session's recorded config", baseDir: "/")
    }
}
