/// A small tagged-field encoding (protobuf's wire shape): each field is a key
/// `(number << 3) | wireType` followed by its value. Readers skip fields they do
/// not know, and absent fields take defaults, so a later velora reads an older
/// log and an older velora reads what it can of a newer one.
public enum WireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case bytes = 2
}

/// Appends tagged fields to a byte array.
public struct FieldWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() { bytes.reserveCapacity(64) }

    @inline(__always)
    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always)
    mutating func key(_ field: Int, _ wire: WireType) {
        varint(UInt64(field) << 3 | UInt64(wire.rawValue))
    }

    public mutating func uint(_ field: Int, _ value: UInt64) {
        key(field, .varint); varint(value)
    }

    public mutating func uint(_ field: Int, _ value: UInt64?) {
        if let value { uint(field, value) }
    }

    public mutating func int(_ field: Int, _ value: Int64) {
        key(field, .varint); varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func int(_ field: Int, _ value: Int64?) {
        if let value { int(field, value) }
    }

    public mutating func bool(_ field: Int, _ value: Bool?) {
        if let value { uint(field, value ? 1 : 0) }
    }

    public mutating func double(_ field: Int, _ value: Double?) {
        guard let value else { return }
        key(field, .fixed64)
        var bits = value.bitPattern
        for _ in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bits)); bits >>= 8 }
    }

    public mutating func string(_ field: Int, _ value: String?) {
        guard let value else { return }
        key(field, .bytes)
        var text = value
        text.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func strings(_ field: Int, _ values: [String]) {
        for value in values { string(field, value) }
    }

    public mutating func message(_ field: Int, _ nested: FieldWriter) {
        key(field, .bytes)
        varint(UInt64(nested.bytes.count))
        bytes.append(contentsOf: nested.bytes)
    }
}

/// Reads tagged fields from a buffer that outlives the reader.
public struct FieldReader {
    let buffer: UnsafeRawBufferPointer
    let end: Int
    var position: Int

    public init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
        end = buffer.count
        position = 0
    }

    public struct Malformed: Error {
        public let detail: String
    }

    @inline(__always)
    mutating func varint() throws(Malformed) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw Malformed(detail: "varint runs past the record") }
            let byte = buffer[position]
            position += 1
            if shift == 63 && byte > 1 { throw Malformed(detail: "varint overflows 64 bits") }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw Malformed(detail: "varint too long") }
        }
    }

    /// The next field's number and wire type, or nil at the end.
    @inline(__always)
    public mutating func next() throws(Malformed) -> (field: Int, wire: WireType)? {
        guard position < end else { return nil }
        let key = try varint()
        guard let wire = WireType(rawValue: UInt8(key & 7)) else {
            throw Malformed(detail: "unknown wire type \(key & 7)")
        }
        return (Int(truncatingIfNeeded: key >> 3), wire)
    }

    public mutating func uint() throws(Malformed) -> UInt64 { try varint() }

    public mutating func int() throws(Malformed) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    public mutating func int32() throws(Malformed) -> Int32 {
        Int32(truncatingIfNeeded: try int())
    }

    public mutating func uint32() throws(Malformed) -> UInt32 {
        UInt32(truncatingIfNeeded: try varint())
    }

    public mutating func bool() throws(Malformed) -> Bool { try varint() != 0 }

    public mutating func double() throws(Malformed) -> Double {
        guard end - position >= 8 else { throw Malformed(detail: "double runs past the record") }
        var bits: UInt64 = 0
        for i in 0..<8 {
            bits |= UInt64(buffer[position + i]) << (8 * UInt64(i))
        }
        position += 8
        return Double(bitPattern: bits)
    }

    mutating func span() throws(Malformed) -> UnsafeRawBufferPointer {
        let count = try varint()
        guard count <= UInt64(end - position) else { throw Malformed(detail: "field runs past the record") }
        let start = position
        position += Int(count)
        return UnsafeRawBufferPointer(rebasing: buffer[start..<position])
    }

    public mutating func string() throws(Malformed) -> String {
        let raw = try span()
        return String(decoding: raw, as: UTF8.self)
    }

    public mutating func nested() throws(Malformed) -> FieldReader {
        FieldReader(try span())
    }

    /// Skips a field this velora does not know.
    public mutating func skip(_ wire: WireType) throws(Malformed) {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64:
            guard end - position >= 8 else { throw Malformed(detail: "double runs past the record") }
            position += 8
        case .bytes: _ = try span()
        }
    }
}
