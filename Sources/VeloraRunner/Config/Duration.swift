/// Parses durations: `90s`, `30m`, `2h`, `1h30m`, `500ms`, or plain seconds (`45`, `2.5`).
public enum DurationParser {
    /// Milliseconds, or nil when `text` is not a duration.
    public static func milliseconds(_ text: String) -> UInt64? {
        let s = text.filter { $0 != " " && $0 != "\t" }
        guard !s.isEmpty else { return nil }
        if let seconds = Double(s) {
            guard seconds >= 0, seconds.isFinite else { return nil }
            return UInt64((seconds * 1000).rounded())
        }
        var total: Double = 0
        var number = ""
        var index = s.startIndex
        var sawUnit = false
        while index < s.endIndex {
            let c = s[index]
            if c.isNumber || c == "." {
                number.append(c)
                index = s.index(after: index)
                continue
            }
            var unit = String(c)
            index = s.index(after: index)
            if c == "m", index < s.endIndex, s[index] == "s" {
                unit = "ms"
                index = s.index(after: index)
            }
            guard let value = Double(number) else { return nil }
            let scale: Double
            switch unit {
            case "ms": scale = 1
            case "s": scale = 1000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            case "d": scale = 86_400_000
            default: return nil
            }
            total += value * scale
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit, total.isFinite else { return nil }
        return UInt64(total.rounded())
    }

    /// A short human form: `1h30m`, `45s`, `1.5s`.
    public static func format(milliseconds ms: UInt64) -> String {
        if ms < 1000 { return "\(ms)ms" }
        if ms < 60_000 {
            return ms % 1000 == 0 ? "\(ms / 1000)s" : String(format1(Double(ms) / 1000)) + "s"
        }
        var rest = ms / 1000
        var out = ""
        if rest >= 3600 { out += "\(rest / 3600)h"; rest %= 3600 }
        if rest >= 60 { out += "\(rest / 60)m"; rest %= 60 }
        if rest > 0 { out += "\(rest)s" }
        return out
    }

    static func format1(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

