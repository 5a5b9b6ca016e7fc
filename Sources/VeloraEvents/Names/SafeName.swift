/// Folder names for instance ids and model names.
///
/// Bytes in `[A-Za-z0-9._-]` (and `+`, `@`, `=`, `,`) stay as they are, so
/// `django__django-11099` is its own folder name; every other byte, `%` itself,
/// and a leading `.` become `%XX`. That mapping is injective and never yields
/// `.`, `..`, an empty name or a `/`. Names longer than 160 bytes keep a readable
/// prefix plus `~` and a 64-bit FNV-1a hash of the whole id (`~` never appears
/// in the escaped form, so a shortened name cannot equal an unshortened one).
public enum SafeName {
    public static let maxLength = 160

    public static func folder(for name: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for (i, byte) in name.utf8.enumerated() {
            let keep: Bool
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
                 UInt8(ascii: "+"), UInt8(ascii: "@"), UInt8(ascii: "="), UInt8(ascii: ","):
                keep = true
            case UInt8(ascii: "."):
                keep = i != 0
            default:
                keep = false
            }
            if keep {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xf)])
            }
        }
        if out.isEmpty { return "%" }  // the empty name; nothing else escapes to a bare "%"
        if out.count > maxLength {
            var prefix = Array(out.prefix(maxLength - 17))
            // Do not cut an escape in half.
            if let pct = prefix.suffix(2).lastIndex(of: UInt8(ascii: "%")) { prefix.removeSubrange(pct...) }
            let hash = fnv1a64(Array(name.utf8))
            let digits = String(hash, radix: 16)
            return String(decoding: prefix, as: UTF8.self) + "~" + String(repeating: "0", count: 16 - digits.count) + digits
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
