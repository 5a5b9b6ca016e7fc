/// How a log ended.
public enum LogTail: Sendable, Equatable {
    /// The last record is whole.
    case clean
    /// The last `bytes` bytes, from `offset`, are a record cut short (or zero fill).
    case torn(offset: UInt64, bytes: UInt64)
}

/// One finding of a full scan (see `LogReader.scan`).
public enum LogScanItem: Sendable, Equatable {
    case event(offset: UInt64, Event)
    /// Bytes `offset..<offset+length` do not hold valid records.
    case damaged(offset: UInt64, length: UInt64, detail: String)
}

/// Streams the events of a log, plain or gzip-compressed.
///
/// A torn tail ends the log without error (`tail` says so); a damaged record
/// before the end throws `EventsError.corruptRecord` naming its byte offset
/// (in the uncompressed log) and the last good sequence number. Safe to use
/// while a writer appends: a partial last record is a torn tail to it.
public final class LogReader {
    public let path: String
    let source: ByteSource
    /// Owned by the reader (freed in `deinit`): decoding reads records in place,
    /// without the closures and checks an array's `withUnsafeBytes` costs per record.
    var buffer: UnsafeMutableRawBufferPointer
    /// Valid bytes are `buffer[start..<end]`; `base` is the log offset of `buffer[0]`.
    var start = 0
    var end = 0
    var base: UInt64 = 0
    var sourceDone = false
    public private(set) var compressed: Bool
    public private(set) var tail: LogTail = .clean
    public private(set) var lastSeq: UInt64?
    /// The offset just after the last whole record.
    public var goodOffset: UInt64 { base + UInt64(start) }

    /// Opens `path`. `offset` (plain logs only) resumes after a record already read,
    /// for following a live log.
    public init(path: String, from offset: UInt64? = nil) throws(EventsError) {
        self.path = path
        compressed = try isGzip(path: path)
        if compressed {
            source = try GzipReader(path: path)
        } else {
            source = try FileSource(path: path)
        }
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
        let header = LogFormat.header
        try fill(atLeast: header.count)
        let available = end - start
        if available < header.count {
            // A header cut short: the writer died creating the file.
            if !buffer[0..<available].elementsEqual(header.prefix(available)) {
                throw .notAVeloraLog(path: path)
            }
            tail = .torn(offset: 0, bytes: UInt64(available))
            start = available
            return
        }
        if !buffer[0..<LogFormat.magic.count].elementsEqual(LogFormat.magic) {
            throw .notAVeloraLog(path: path)
        }
        guard let newline = buffer[0..<min(available, 32)].firstIndex(of: 0x0a),
              let version = Int(String(decoding: buffer[LogFormat.magic.count..<newline], as: UTF8.self)) else {
            throw .notAVeloraLog(path: path)
        }
        if version > LogFormat.version { throw .unsupportedVersion(path: path, version: version) }
        start = newline + 1
        if let offset, offset > goodOffset {
            guard !compressed, let file = source as? FileSource else {
                throw .io(path: path, operation: "seek in a compressed log", errno: 29)
            }
            try file.seek(to: offset)
            base = offset
            start = 0
            end = 0
        }
    }

    deinit {
        buffer.deallocate()
    }

    /// Makes at least `count` bytes available from `start`, unless the source ends.
    func fill(atLeast count: Int) throws(EventsError) {
        while end - start < count && !sourceDone {
            if start > 0 && (buffer.count - end < count || start > buffer.count / 2) {
                // Slide the unread bytes to the front.
                let live = end - start
                if let p = buffer.baseAddress { p.copyMemory(from: p + start, byteCount: live) }
                base += UInt64(start)
                start = 0
                end = live
            }
            if buffer.count - end < count - (end - start) || buffer.count == end {
                let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count + max(buffer.count, count),
                                                                   alignment: 16)
                if let to = grown.baseAddress, let from = buffer.baseAddress { to.copyMemory(from: from, byteCount: end) }
                buffer.deallocate()
                buffer = grown
            }
            let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            if n == 0 { sourceDone = true }
            end += n
        }
    }

    enum Step {
        case event(Event)
        case end
        case damaged(String)
    }

    /// Reads the record at `start` without consuming damage.
    func step() throws(EventsError) -> Step {
        try fill(atLeast: LogFormat.recordHeaderSize)
        let available = end - start
        if available == 0 { return .end }
        if available < LogFormat.recordHeaderSize {
            tail = .torn(offset: goodOffset, bytes: UInt64(available))
            return .end
        }
        var h = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + LogFormat.recordHeaderSize)])
        let headerOK = LogFormat.loadLE(h, at: 0) == LogFormat.mask(crc32Of(UnsafeRawBufferPointer(rebasing: h[4..<9])))
        let length = Int(LogFormat.loadLE(h, at: 4))
        let code = h[8]
        if !headerOK || length > LogFormat.maxPayload {
            if try restIsZero() {
                tail = .torn(offset: goodOffset, bytes: UInt64(end - start))
                return .end
            }
            return .damaged(headerOK ? "payload length \(length) is implausible" : "record header checksum mismatch")
        }
        let total = LogFormat.recordHeaderSize + length
        try fill(atLeast: total)
        if end - start < total {
            tail = .torn(offset: goodOffset, bytes: UInt64(end - start))
            return .end
        }
        // `fill` may have moved the buffer.
        h = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + LogFormat.recordHeaderSize)])
        let payload = UnsafeRawBufferPointer(rebasing: buffer[(start + LogFormat.recordHeaderSize)..<(start + total)])
        var crc = crc32Of(UnsafeRawBufferPointer(rebasing: h[8..<9]))
        crc = crc32Of(payload, previous: crc)
        guard LogFormat.mask(crc) == LogFormat.loadLE(h, at: 9) else { return .damaged("payload checksum mismatch") }
        let event: Event
        do throws(FieldReader.Malformed) {
            event = try Event.decode(code: code, payload: payload)
        } catch {
            return .damaged("undecodable payload: \(error.detail)")
        }
        start += total
        lastSeq = event.seq
        return .event(event)
    }

    /// Whether every byte from `start` to the end of the log is zero (preallocated, never written).
    func restIsZero() throws(EventsError) -> Bool {
        while true {
            if buffer[start..<end].contains(where: { $0 != 0 }) { return false }
            if sourceDone { return true }
            try fill(atLeast: end - start + 1)
            if end - start == 0 { return true }
        }
    }

    /// The next event, or nil at the end of the log (then see `tail`).
    public func next() throws(EventsError) -> Event? {
        switch try step() {
        case let .event(event): return event
        case .end: return nil
        case let .damaged(detail):
            throw .corruptRecord(path: path, offset: goodOffset, lastGoodSeq: lastSeq, detail: detail)
        }
    }

    /// Reads the whole log, continuing past damage by searching for the next
    /// valid record, so that every damaged stretch is reported with its position.
    public func scan(_ body: (LogScanItem) throws -> Void) throws {
        while true {
            let offset = goodOffset
            switch try step() {
            case let .event(event):
                try body(.event(offset: offset, event))
            case .end:
                return
            case let .damaged(detail):
                let damageStart = goodOffset
                try resynchronize()
                try body(.damaged(offset: damageStart, length: goodOffset - damageStart, detail: detail))
            }
        }
    }

    /// Advances byte by byte until a record with valid checks starts (or the end).
    func resynchronize() throws(EventsError) {
        start += 1
        while true {
            try fill(atLeast: LogFormat.recordHeaderSize)
            if end - start < LogFormat.recordHeaderSize {
                start = end
                return
            }
            // `step` may slide the buffer, so remember the position as a log offset.
            let offset = goodOffset
            let saved = (tail, lastSeq)
            let outcome = try step()
            (tail, lastSeq) = saved
            start = Int(offset - base)
            switch outcome {
            case .event:
                return  // the caller reads this record again, as an event
            case .end, .damaged:
                start += 1
            }
        }
    }

    /// All events of a log up to its end (or its first damage, which throws).
    public static func readAll(path: String) throws(EventsError) -> (events: [Event], tail: LogTail) {
        let reader = try LogReader(path: path)
        var events: [Event] = []
        while let event = try reader.next() { events.append(event) }
        return (events, reader.tail)
    }
}
