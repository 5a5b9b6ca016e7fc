/// The on-disk shape of an event log, after LevelDB's log format.
///
/// A file starts with the ASCII header `velora-log v1\n`. Then records:
///
///     0  u32 LE  header check: masked CRC-32 of bytes 4..<9
///     4  u32 LE  payload length
///     8  u8      type: the event kind's code
///     9  u32 LE  payload check: masked CRC-32 of the type byte and the payload
///    13  payload (see `Event.encodedPayload`)
///
/// Checking the header separately means a damaged length is reported as
/// damage instead of being taken for a record cut short by a crash. A record
/// is torn (the writer died mid-append) when its header or payload runs past
/// the end of the file, or when everything from it to the end is zero bytes;
/// anything else that fails a check is corruption.
public enum LogFormat {
    public static let magic = Array("velora-log v".utf8)
    public static let version = 1
    public static var header: [UInt8] { magic + Array("\(version)\n".utf8) }
    public static let recordHeaderSize = 13
    /// Payloads larger than this are taken as damage (a config is a few KB).
    public static let maxPayload = 64 * 1024 * 1024

    static let maskDelta: UInt32 = 0xa282_ead8

    /// A CRC stored next to data that may itself hold CRCs is masked (LevelDB).
    @inline(__always)
    public static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ maskDelta
    }

    /// Appends one framed record for `event` to `out`.
    public static func appendRecord(_ event: Event, to out: inout [UInt8]) {
        let payload = event.encodedPayload()
        var code = event.kind.code
        var head = [UInt8](repeating: 0, count: recordHeaderSize)
        storeLE(UInt32(payload.count), &head, at: 4)
        head[8] = code
        let headerCRC = head.withUnsafeBytes { mask(crc32Of(UnsafeRawBufferPointer(rebasing: $0[4..<9]))) }
        var payloadCRC = withUnsafeBytes(of: &code) { crc32Of($0) }
        payloadCRC = payload.withUnsafeBytes { crc32Of($0, previous: payloadCRC) }
        storeLE(headerCRC, &head, at: 0)
        storeLE(mask(payloadCRC), &head, at: 9)
        out.append(contentsOf: head)
        out.append(contentsOf: payload)
    }

    @inline(__always)
    static func storeLE(_ value: UInt32, _ bytes: inout [UInt8], at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value >> 24)
    }

    @inline(__always)
    static func loadLE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
            | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }
}
