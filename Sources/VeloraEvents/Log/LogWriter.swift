import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Appends events to a log and makes them durable.
///
/// `append` returns only after its events are fsynced. Appenders that arrive
/// while an fsync is in flight are gathered and made durable together by the
/// next one (group commit). A failed write or fsync stops the writer for good:
/// after it, the file's state is unknown, and retrying an fsync can report
/// success for data that was lost.
public final class LogWriter: @unchecked Sendable {
    public let path: String
    let fd: Int32
    let clock: @Sendable () -> Int64
    let condition = NSCondition()
    // Guarded by `condition`:
    var nextSeq: UInt64
    var pending: [UInt8] = []
    var durableSeq: UInt64
    var flushing = false
    var failure: EventsError?
    var size: UInt64

    /// The last sequence number written (0 for an empty log).
    public var lastSeq: UInt64 {
        condition.lock(); defer { condition.unlock() }
        return nextSeq - 1
    }

    /// Bytes in the file, including what is durable so far.
    public var fileSize: UInt64 {
        condition.lock(); defer { condition.unlock() }
        return size
    }

    /// Opens `path` for appending, creating it with a header when missing.
    ///
    /// A torn tail is cut away first and a `logRepaired` event records it. A
    /// damaged record before the end refuses the open: appending after damage
    /// would bury it. A compressed log is first restored to a plain one.
    public init(path: String, clock: @escaping @Sendable () -> Int64 = LogWriter.wallClockMillis) throws(EventsError) {
        self.path = path
        self.clock = clock
        try LogWriter.decompressIfNeeded(path: path)
        var repair: LogRepaired?
        var lastSeq: UInt64 = 0
        var goodOffset: UInt64 = 0
        if fileExists(path) {
            let reader = try LogReader(path: path)
            while let event = try reader.next() { lastSeq = event.seq }
            goodOffset = reader.goodOffset
            if case let .torn(offset, bytes) = reader.tail {
                repair = LogRepaired(offset: offset, droppedBytes: bytes)
            }
        }
        let fd = try openFile(path, O_WRONLY | O_CREAT)
        self.fd = fd
        do throws(EventsError) {
            if goodOffset < LogFormat.header.count {
                // New, or the header itself was cut short: start the file over.
                _ = try valueOrErrno(path: path, "ftruncate") { ftruncate(fd, 0) }
                try writeAll(fd: fd, path: path, LogFormat.header)
                goodOffset = UInt64(LogFormat.header.count)
                _ = try valueOrErrno(path: path, "fsync") { fsync(fd) }
                try fsyncDirectory(of: path)
            } else if repair != nil {
                _ = try valueOrErrno(path: path, "ftruncate") { ftruncate(fd, off_t(goodOffset)) }
                _ = try valueOrErrno(path: path, "fsync") { fsync(fd) }
            }
            _ = try valueOrErrno(path: path, "lseek") { lseek(fd, off_t(goodOffset), SEEK_SET) }
        } catch {
            closeFile(fd)
            throw error
        }
        size = goodOffset
        nextSeq = lastSeq + 1
        durableSeq = lastSeq
        if let repair {
            _ = try append(.logRepaired(repair))
        }
    }

    deinit { closeFile(fd) }

    public static let wallClockMillis: @Sendable () -> Int64 = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Where the compressed form of a log lives.
    public static func compressedPath(_ path: String) -> String { path + ".gz" }

    /// Restores `path` from `path.gz` when only the compressed form exists.
    static func decompressIfNeeded(path: String) throws(EventsError) {
        let gz = compressedPath(path)
        guard fileExists(gz) else { return }
        if fileExists(path) {
            // A compression that died before removing the plain file: the plain one is whole.
            unlink(gz)
            return
        }
        let tmp = path + ".restore"
        do throws(EventsError) {
            let source = try GzipReader(path: gz)
            let fd = try openFile(tmp, O_WRONLY | O_CREAT | O_TRUNC)
            defer { closeFile(fd) }
            var chunk = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                let n = try chunk.withMutableBytes { (raw) throws(EventsError) in try source.read(into: raw) }
                if n == 0 { break }
                try chunk.withBytes { (raw) throws(EventsError) in
                    try writeAll(fd: fd, path: tmp, UnsafeRawBufferPointer(rebasing: raw[0..<n]))
                }
            }
            _ = try valueOrErrno(path: tmp, "fsync") { fsync(fd) }
        } catch {
            unlink(tmp)
            throw error
        }
        _ = try valueOrErrno(path: path, "rename") { rename(tmp, path) }
        try fsyncDirectory(of: path)
        unlink(gz)
    }

    /// Appends events and returns them, numbered and stamped, once durable
    /// (together with everything written before them).
    @discardableResult
    public func append(_ kinds: [EventKind]) throws(EventsError) -> [Event] {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw .writerStopped(path: path, cause: failure.description) }
        let events = stamp(kinds)
        pending += encoded(events)
        try waitDurable(upTo: nextSeq - 1)
        return events
    }

    /// Writes events now, so readers see them, without waiting for an fsync: the
    /// next `append` or `sync` makes them durable. For facts nothing is done on
    /// until then (the runner syncs before it starts a process and before it sleeps).
    @discardableResult
    public func appendUnsynced(_ kinds: [EventKind]) throws(EventsError) -> [Event] {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw .writerStopped(path: path, cause: failure.description) }
        let events = stamp(kinds)
        pending += encoded(events)
        if !flushing {
            // No commit in flight: write now (a leader would write `pending` itself).
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            do throws(EventsError) {
                try writeAll(fd: fd, path: path, batch)
                size += UInt64(batch.count)
            } catch {
                failure = error
                throw .writerStopped(path: path, cause: error.description)
            }
        }
        return events
    }

    /// Makes everything appended so far durable.
    public func sync() throws(EventsError) {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw .writerStopped(path: path, cause: failure.description) }
        try waitDurable(upTo: nextSeq - 1)
    }

    func stamp(_ kinds: [EventKind]) -> [Event] {
        var events: [Event] = []
        events.reserveCapacity(kinds.count)
        let now = clock()
        for kind in kinds {
            events.append(Event(seq: nextSeq, time: now, kind: kind))
            nextSeq += 1
        }
        return events
    }

    func encoded(_ events: [Event]) -> [UInt8] {
        var bytes: [UInt8] = []
        for event in events { LogFormat.appendRecord(event, to: &bytes) }
        return bytes
    }

    /// Group commit; called with the lock held. One caller leads: it writes what
    /// is pending and fsyncs, covering every event numbered so far; the others wait.
    func waitDurable(upTo target: UInt64) throws(EventsError) {
        while durableSeq < target {
            if let failure { throw .writerStopped(path: path, cause: failure.description) }
            if flushing {
                condition.wait()
                continue
            }
            flushing = true
            let batch = pending
            let batchLast = nextSeq - 1  // everything numbered is pending now or already written
            pending.removeAll(keepingCapacity: true)
            condition.unlock()
            let result: EventsError?
            do throws(EventsError) {
                if !batch.isEmpty { try writeAll(fd: fd, path: path, batch) }
                _ = try valueOrErrno(path: path, "fsync") { fdatasync(fd) }
                result = nil
            } catch {
                result = error
            }
            condition.lock()
            flushing = false
            if let result {
                failure = result
            } else {
                durableSeq = batchLast
                size += UInt64(batch.count)
            }
            condition.broadcast()
        }
    }

    /// Appends one event once durable.
    @discardableResult
    public func append(_ kind: EventKind) throws(EventsError) -> Event {
        let events = try append([kind])
        return events[0]
    }

    /// Compresses the log into `path.gz` and removes the plain file. The reader
    /// takes either; a later writer restores the plain file first.
    public static func compress(path: String) throws(EventsError) {
        try gzipFile(from: path, to: compressedPath(path))
        _ = try valueOrErrno(path: path, "unlink") { unlink(path) }
        try fsyncDirectory(of: path)
    }
}
