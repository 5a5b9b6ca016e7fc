#if canImport(Glibc)
import Glibc
#endif

/// `2026-12-03T16:04:18.123Z` from UTC milliseconds.
public func isoTime(_ ms: Int64) -> String {
    var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
    let millis = Int((ms % 1000 + 1000) % 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    // Reports print this for every run and attempt: built in one buffer.
    var b = [UInt8](repeating: 0, count: 24)
    func put(_ value: Int, _ at: Int, _ width: Int) {
        var v = value
        for k in stride(from: at + width - 1, through: at, by: -1) {
            b[k] = UInt8(48 + v % 10)
            v /= 10
        }
    }
    put(Int(parts.tm_year) + 1900, 0, 4); b[4] = 45
    put(Int(parts.tm_mon) + 1, 5, 2); b[7] = 45
    put(Int(parts.tm_mday), 8, 2); b[10] = 84
    put(Int(parts.tm_hour), 11, 2); b[13] = 58
    put(Int(parts.tm_min), 14, 2); b[16] = 58
    put(Int(parts.tm_sec), 17, 2); b[19] = 46
    put(millis, 20, 3); b[23] = 90
    return String(decoding: b, as: UTF8.self)
}

/// Seconds with three decimals, from milliseconds, without floating-point noise.
public func seconds(_ ms: UInt64) -> String {
    "\(ms / 1000).\(String(repeating: "0", count: 3 - String(ms % 1000).count))\(ms % 1000)"
}

/// A fixed-point decimal with `places` digits, rounded half away from zero.
public func fixed(_ value: Double, _ places: Int) -> String {
    guard value.isFinite else { return "0" }
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
    public private(set) var text = ""
    var needsComma: [Bool] = [false]

    public init() {}

    mutating func separator() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func beginObject(_ key: String? = nil) { member(key); text += "{"; needsComma.append(false) }
    public mutating func endObject() { needsComma.removeLast(); text += "}" }
    public mutating func beginArray(_ key: String? = nil) { member(key); text += "["; needsComma.append(false) }
    public mutating func endArray() { needsComma.removeLast(); text += "]" }

    mutating func member(_ key: String?) {
        separator()
        if let key { text += JSONWriter.quote(key) + ":" }
    }

    public mutating func string(_ key: String?, _ value: String?) {
        member(key)
        text += value.map(JSONWriter.quote) ?? "null"
    }

    public mutating func int<T: BinaryInteger>(_ key: String?, _ value: T?) {
        member(key)
        text += value.map { String($0) } ?? "null"
    }

    public mutating func number(_ key: String?, _ value: Double?, places: Int = 6) {
        member(key)
        text += value.map { trimZeros(fixed($0, places)) } ?? "null"
    }

    public mutating func bool(_ key: String?, _ value: Bool?) {
        member(key)
        text += value.map { $0 ? "true" : "false" } ?? "null"
    }

    public mutating func raw(_ key: String?, _ json: String) {
        member(key)
        text += json
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
