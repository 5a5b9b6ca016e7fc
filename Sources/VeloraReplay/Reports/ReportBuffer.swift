import VeloraEvents
#if canImport(Glibc)
import Glibc
#endif

/// UTF-8 bytes of a report being built. The per-run lines of a large session
/// (250,000 runs) dominate report time: appending to one byte array costs a
/// fraction of String concatenation, interpolation and `joined`.
struct ReportBuffer {
    var bytes: [UInt8] = []
    /// Where the bytes go once a megabyte has gathered (a report file being written),
    /// so a 100,000-run report never sits in memory whole. Nil: they all stay in `bytes`.
    var sink: ReportSink?

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    init(sink: ReportSink) {
        self.sink = sink
        bytes.reserveCapacity(ReportSink.chunk + 64 * 1024)
    }

    /// Hands the gathered bytes to the sink when there is a megabyte of them (call between rows).
    @inline(__always)
    mutating func flushIfLarge() {
        if bytes.count >= ReportSink.chunk { flush() }
    }

    mutating func flush() {
        guard let sink, !bytes.isEmpty else { return }
        sink.write(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    @inline(__always)
    mutating func add(_ s: String) {
        bytes.append(contentsOf: s.utf8)
    }

    @inline(__always)
    mutating func add(byte: UInt8) {
        bytes.append(byte)
    }

    /// Decimal digits, as `String(value)` writes them.
    mutating func add(_ value: UInt64) {
        if value < 10 {
            bytes.append(0x30 &+ UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes, room for 20 digits
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { raw in
            while v > 0 {
                raw[31 - count] = 0x30 &+ UInt8(v % 10)
                v /= 10
                count += 1
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[(32 - count)...]))
        }
    }

    mutating func add(_ value: Int64) {
        if value < 0 { bytes.append(0x2d) }
        add(value.magnitude)
    }

    mutating func add(_ value: Int) { add(Int64(value)) }
    mutating func add(_ value: Int32) { add(Int64(value)) }
    mutating func add(_ value: UInt32) { add(UInt64(value)) }

    /// `value` zero-padded to `width` digits (value < 10^width, width <= 18).
    mutating func add(padded value: Int, width: Int) {
        var divisor = 1
        for _ in 0..<max(0, width - 1) { divisor *= 10 }
        var v = value
        while divisor > 0 {
            bytes.append(0x30 &+ UInt8(truncatingIfNeeded: (v / divisor) % 10))
            v %= divisor
            divisor /= 10
        }
    }

    /// `isoTime(ms)`.
    mutating func add(isoTime ms: Int64) {
        let p = utcParts(ms)
        var record: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &record) { b in
            func put(_ value: Int, _ at: Int, _ width: Int) {
                // The last `width` digits, as the C version wrote them (values never exceed them in practice).
                var v = value
                var k = at + width - 1
                while k >= at {
                    b[k] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
                    v /= 10
                    k -= 1
                }
            }
            put(p.year, 0, 4); b[4] = 0x2d
            put(p.month, 5, 2); b[7] = 0x2d
            put(p.day, 8, 2); b[10] = 0x54
            put(p.hour, 11, 2); b[13] = 0x3a
            put(p.minute, 14, 2); b[16] = 0x3a
            put(p.second, 17, 2); b[19] = 0x2e
            put(p.millis, 20, 3); b[23] = 0x5a
            bytes.append(contentsOf: UnsafeRawBufferPointer(b))
        }
    }

    /// `seconds(ms)`: seconds with three decimals.
    mutating func add(seconds ms: UInt64) {
        add(ms / 1000)
        bytes.append(0x2e)
        add(padded: Int(ms % 1000), width: 3)
    }

    /// A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break.
    mutating func add(csvCell cell: String) {
        if cell.anyByte({ $0 == 0x2c || $0 == 0x22 || $0 == 0x0a || $0 == 0x0d }) {
            add("\"" + cell.replacingAll("\"", with: "\"\"") + "\"")
        } else {
            add(cell)
        }
    }

    /// A CSV line of cells, ended by CRLF.
    mutating func add(csvLine cells: [String]) {
        for (i, cell) in cells.enumerated() {
            if i > 0 { bytes.append(0x2c) }
            add(csvCell: cell)
        }
        add("\r\n")
    }

    /// A string as `JSONWriter.quote` writes it.
    mutating func add(jsonString s: String) {
        if s.anyByte({ $0 < 0x20 || $0 == 0x22 || $0 == 0x5c || $0 == 0x7f }) {
            add(JSONWriter.quote(s))
        } else {
            bytes.append(0x22)
            add(s)
            bytes.append(0x22)
        }
    }

    /// Text as `ReportRenderer.escape` writes it for HTML.
    mutating func add(html s: String) {
        if s.anyByte({ $0 == 0x26 || $0 == 0x3c || $0 == 0x3e || $0 == 0x22 || $0 == 0x27 }) {
            add(ReportRenderer.escape(s))
        } else {
            add(s)
        }
    }
}

/// A report file being written; the first write error is kept and thrown at the end.
final class ReportSink {
    static let chunk = 1 << 20
    let fd: Int32
    let path: String
    var failure: EventsError?

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    func write(_ bytes: [UInt8]) {
        guard failure == nil else { return }
        do throws(EventsError) { try writeAll(fd: fd, path: path, bytes) } catch { failure = error }
    }
}

extension String {
    /// Whether any UTF-8 byte of the string satisfies `test` (a scan of its contiguous bytes when it has them).
    @inline(__always)
    func anyByte(_ test: (UInt8) -> Bool) -> Bool {
        if let found = utf8.withContiguousStorageIfAvailable({ $0.contains(where: test) }) { return found }
        return utf8.contains(where: test)
    }
}

/// The calendar fields of UTC milliseconds: plain arithmetic for years 1970-9999
/// (days to civil date, H. Hinnant's algorithm), gmtime_r for anything else.
func utcParts(_ ms: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millis: Int) {
    let millis = Int((ms % 1000 + 1000) % 1000)
    if ms >= 0 && ms < 253_402_300_800_000 {
        let secs = Int(ms / 1000)
        let days = secs / 86400
        let rest = secs % 86400
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, rest / 3600, (rest % 3600) / 60, rest % 60, millis)
    }
    var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    return (Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour),
            Int(parts.tm_min), Int(parts.tm_sec), millis)
}
