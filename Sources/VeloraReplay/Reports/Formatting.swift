#if canImport(Glibc)
import Glibc
#endif

/// `2026-12-03T16:04:18.123Z` from UTC milliseconds.
public func isoTime(_ ms: Int64) -> String {
    var b = ReportBuffer(capacity: 24)
    b.add(isoTime: ms)
    return b.string
}

/// Seconds with three decimals, from milliseconds, without floating-point noise.
public func seconds(_ ms: UInt64) -> String {
    var b = ReportBuffer(capacity: 24)
    b.add(seconds: ms)
    return b.string
}

/// A fixed-point decimal with `places` digits, rounded half away from zero.
public func fixed(_ value: Double, _ places: Int) -> String {
    guard value.isFinite else { return "0" }
    // More places than a UInt64 scale holds mean nothing for a Double.
    let places = min(max(places, 0), 18)
    var scale: UInt64 = 1
    for _ in 0..<places { scale *= 10 }
    let scaled = (abs(value) * Double(scale)).rounded()
    // Beyond what a UInt64 holds, fixed point means nothing: print the value as it is.
    guard scaled < 9e18 else { return "\(value)" }
    let total = UInt64(scaled)
    let whole = total / scale
    let frac = total % scale
    let sign = value < 0 && total > 0 ? "-" : ""
    guard places > 0 else { return sign + String(whole) }
    let f = String(frac)
    return sign + String(whole) + "." + String(repeating: "0", count: places - f.count) + f
}

/// A short human duration: `1h02m`, `3m05s`, `4.2s`.
public func humanDuration(_ ms: UInt64) -> String {
    if ms < 60_000 { return fixed(Double(ms) / 1000, 1) + "s" }
    let s = ms / 1000
    if s < 3600 { return "\(s / 60)m" + (s % 60 < 10 ? "0" : "") + "\(s % 60)s" }
    return "\(s / 3600)h" + ((s % 3600) / 60 < 10 ? "0" : "") + "\((s % 3600) / 60)m"
}

/// Writes JSON with keys in the order given: stable bytes for reports.
public struct JSONWriter {
    var buffer = ReportBuffer()
    var needsComma: [Bool] = [false]

    public init() {}

    init(buffer: ReportBuffer) {
        self.buffer = buffer
    }

    public var text: String { buffer.string }

    mutating func separator() {
        if needsComma[needsComma.count - 1] { buffer.add(byte: 0x2c) }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func beginObject(_ key: String? = nil) { member(key); buffer.add(byte: 0x7b); needsComma.append(false) }
    public mutating func endObject() { needsComma.removeLast(); buffer.add(byte: 0x7d) }
    public mutating func beginArray(_ key: String? = nil) { member(key); buffer.add(byte: 0x5b); needsComma.append(false) }
    public mutating func endArray() { needsComma.removeLast(); buffer.add(byte: 0x5d) }

    mutating func member(_ key: String?) {
        separator()
        if let key {
            buffer.add(jsonString: key)
            buffer.add(byte: 0x3a)
        }
    }

    public mutating func string(_ key: String?, _ value: String?) {
        member(key)
        if let value { buffer.add(jsonString: value) } else { buffer.add("null") }
    }

    /// A time as `isoTime` writes it, quoted.
    mutating func time(_ key: String?, _ value: Int64?) {
        member(key)
        guard let value else { buffer.add("null"); return }
        buffer.add(byte: 0x22)
        buffer.add(isoTime: value)
        buffer.add(byte: 0x22)
    }

    public mutating func int<T: BinaryInteger>(_ key: String?, _ value: T?) {
        member(key)
        guard let value else { buffer.add("null"); return }
        if T.isSigned, let v = Int64(exactly: value) { buffer.add(v) }
        else if let v = UInt64(exactly: value) { buffer.add(v) }
        else { buffer.add(String(value)) }
    }

    public mutating func number(_ key: String?, _ value: Double?, places: Int = 6) {
        member(key)
        guard let value else { buffer.add("null"); return }
        // `trimZeros(fixed(value, places))` without the strings, for the values fixed point can hold.
        guard value.isFinite, places > 0, places <= 18 else {
            buffer.add(trimZeros(fixed(value, places)))
            return
        }
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (abs(value) * Double(scale)).rounded()
        guard scaled < 9e18 else {
            buffer.add(trimZeros(fixed(value, places)))
            return
        }
        let total = UInt64(scaled)
        if value < 0 && total > 0 { buffer.add(byte: 0x2d) }
        buffer.add(total / scale)
        var frac = total % scale
        guard frac > 0 else { return }
        var digits = places
        while frac % 10 == 0 { frac /= 10; digits -= 1 }
        buffer.add(byte: 0x2e)
        buffer.add(padded: Int(frac), width: digits)
    }

    public mutating func bool(_ key: String?, _ value: Bool?) {
        member(key)
        buffer.add(value.map { $0 ? "true" : "false" } ?? "null")
    }

    public mutating func raw(_ key: String?, _ json: String) {
        member(key)
        buffer.add(json)
    }

    func trimZeros(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = Substring(s)
        while t.hasSuffix("0") { t = t.dropLast() }
        if t.hasSuffix(".") { t = t.dropLast() }
        return String(t)
    }

    public static func quote(_ s: String) -> String {
        // Most values need no escaping: copy them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c || $0 == 0x7f }) { return "\"" + s + "\"" }
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
