import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// Something bytes can be read from in chunks: a plain file or a gzip stream.
public protocol ByteSource: AnyObject {
    /// Fills up to `buffer.count` bytes; 0 means the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(EventsError) -> Int
}

/// Reads a plain file through its descriptor.
public final class FileSource: ByteSource {
    public let path: String
    let fd: Int32

    public init(path: String) throws(EventsError) {
        self.path = path
        fd = try openFile(path, O_RDONLY)
    }

    /// Starts reading at byte `offset`.
    public func seek(to offset: UInt64) throws(EventsError) {
        _ = try valueOrErrno(path: path, "lseek") { lseek(fd, off_t(offset), SEEK_SET) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(EventsError) -> Int {
        try readSome(fd: fd, path: path, into: buffer)
    }

    deinit { closeFile(fd) }
}

/// True when the first two bytes are gzip's magic number.
public func isGzip(path: String) throws(EventsError) -> Bool {
    let source = try FileSource(path: path)
    var magic: [UInt8] = [0, 0]
    var got = 0
    while got < 2 {
        let n = try magic.withMutableBytes { (raw) throws(EventsError) in
            try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[got...]))
        }
        if n == 0 { return false }
        got += n
    }
    return magic == [0x1f, 0x8b]
}

/// Streams the decompressed bytes of a gzip file (several members are read as one).
/// A stream cut short (a writer that crashed) yields what was flushed before the
/// cut and sets `truncated`; damaged data is an error.
public final class GzipReader: ByteSource {
    public let path: String
    let file: FileSource
    let stream: UnsafeMutablePointer<z_stream>
    var input: [UInt8]
    var inputStart = 0
    var inputEnd = 0
    var compressedOffset: UInt64 = 0
    var atEnd = false
    public private(set) var truncated = false

    public init(path: String) throws(EventsError) {
        self.path = path
        file = try FileSource(path: path)
        input = [UInt8](repeating: 0, count: 256 * 1024)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 32: a zlib or gzip header, detected automatically.
        let rc = inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deallocate()
            throw .gzip(path: path, detail: "inflateInit failed (\(rc))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func refill() throws(EventsError) -> Bool {
        if inputStart < inputEnd { return true }
        let n = try input.withMutableBytes { (raw) throws(EventsError) in try file.read(into: raw) }
        inputStart = 0
        inputEnd = n
        return n > 0
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(EventsError) -> Int {
        guard let out = buffer.baseAddress, buffer.count > 0, !atEnd else { return 0 }
        while true {
            let haveInput = try refill()
            if !haveInput {
                // Input is exhausted before the stream said it ended: a cut-short file.
                atEnd = true
                truncated = true
                return 0
            }
            let (rc, produced, consumed) = input.withUnsafeMutableBytes { raw -> (Int32, Int, Int) in
                stream.pointee.next_in = raw.baseAddress?.assumingMemoryBound(to: Bytef.self).advanced(by: inputStart)
                stream.pointee.avail_in = uInt(inputEnd - inputStart)
                stream.pointee.next_out = out.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(buffer.count)
                let rc = inflate(stream, Z_NO_FLUSH)
                let produced = buffer.count - Int(stream.pointee.avail_out)
                let consumed = (inputEnd - inputStart) - Int(stream.pointee.avail_in)
                stream.pointee.next_in = nil
                stream.pointee.next_out = nil
                return (rc, produced, consumed)
            }
            inputStart += consumed
            compressedOffset += UInt64(consumed)
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                if produced > 0 { return produced }
            case Z_STREAM_END:
                // Another gzip member may follow; trailing zero padding ends the file.
                if try !nextMemberFollows() { atEnd = true }
                else { inflateReset(stream) }
                if produced > 0 || atEnd { return produced }
            default:
                let why = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw .gzipDamaged(path: path, detail: "damaged gzip data (\(why)), found at compressed byte \(compressedOffset)")
            }
        }
    }

    func nextMemberFollows() throws(EventsError) -> Bool {
        while true {
            guard try refill() else { return false }
            if input[inputStart] == 0 {
                inputStart += 1
                continue
            }
            return true
        }
    }
}

/// Writes a gzip stream to a file. `flush()` makes everything written so far
/// readable by a reader even if the process dies before `finish()`.
public final class GzipWriter {
    public let path: String
    let fd: Int32
    let stream: UnsafeMutablePointer<z_stream>
    var output: [UInt8]
    var finished = false

    /// Creates (truncates) `path`. `expectedSize` (when known) keeps the buffers
    /// and zlib's state small for small inputs: most attempt logs are tiny.
    public init(path: String, level: Int32 = 6, expectedSize: Int? = nil) throws(EventsError) {
        self.path = path
        fd = try openFile(path, O_WRONLY | O_CREAT | O_TRUNC)
        let small = (expectedSize ?? Int.max) < 64 * 1024
        output = [UInt8](repeating: 0, count: small ? 16 * 1024 : 256 * 1024)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 15 + 16: gzip wrapper, so zcat reads it.
        let rc = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, small ? 2 : 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deallocate()
            closeFile(fd)
            throw .gzip(path: path, detail: "deflateInit failed (\(rc))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        closeFile(fd)
    }

    func deflateAll(_ bytes: UnsafeRawBufferPointer, mode: Int32) throws(EventsError) {
        var consumedTotal = 0
        while true {
            let (rc, produced, consumed, outFull) = output.withUnsafeMutableBytes { raw -> (Int32, Int, Int, Bool) in
                let inBase = bytes.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
                stream.pointee.next_in = inBase?.advanced(by: consumedTotal)
                stream.pointee.avail_in = uInt(bytes.count - consumedTotal)
                stream.pointee.next_out = raw.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(raw.count)
                let rc = deflate(stream, mode)
                let produced = raw.count - Int(stream.pointee.avail_out)
                let consumed = (bytes.count - consumedTotal) - Int(stream.pointee.avail_in)
                let outFull = stream.pointee.avail_out == 0
                stream.pointee.next_in = nil
                stream.pointee.next_out = nil
                return (rc, produced, consumed, outFull)
            }
            consumedTotal += consumed
            if produced > 0 {
                try output.withBytes { (raw) throws(EventsError) in
                    try writeAll(fd: fd, path: path, UnsafeRawBufferPointer(rebasing: raw[0..<produced]))
                }
            }
            if rc == Z_STREAM_END { return }
            guard rc == Z_OK || rc == Z_BUF_ERROR else {
                throw .gzip(path: path, detail: "deflate failed (\(rc))")
            }
            if consumedTotal == bytes.count && !outFull && mode != Z_FINISH { return }
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(EventsError) {
        try deflateAll(bytes, mode: Z_NO_FLUSH)
    }

    public func write(_ bytes: [UInt8]) throws(EventsError) {
        try bytes.withBytes { (raw) throws(EventsError) in try write(raw) }
    }

    /// Emits everything buffered so far as whole deflate blocks.
    public func flush(sync: Bool = false) throws(EventsError) {
        try deflateAll(UnsafeRawBufferPointer(start: nil, count: 0), mode: Z_SYNC_FLUSH)
        if sync { _ = try valueOrErrno(path: path, "fsync") { fsync(fd) } }
    }

    /// Ends the stream (trailer with CRC and size) and, unless told not to, fsyncs the file.
    public func finish(sync: Bool = true) throws(EventsError) {
        guard !finished else { return }
        finished = true
        try deflateAll(UnsafeRawBufferPointer(start: nil, count: 0), mode: Z_FINISH)
        if sync { _ = try valueOrErrno(path: path, "fsync") { fsync(fd) } }
    }
}

/// Compresses `source` into `destination` (atomically: a temporary name, then rename).
/// `durable: false` skips the folder fsync after the rename; `syncData` the file's own.
public func gzipFile(from source: String, to destination: String, level: Int32 = 6,
                     durable: Bool = true, syncData: Bool = true) throws(EventsError) {
    let tmp = destination + ".tmp"
    do throws(EventsError) {
        let input = try FileSource(path: source)
        var st = stat()
        let size = stat(source, &st) == 0 ? Int(st.st_size) : nil
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: min(256 * 1024, max(4096, (size ?? 256 * 1024) + 1)),
                                                          alignment: 16)
        defer { chunk.deallocate() }
        var n = try input.read(into: chunk)
        if n == 0 {
            // Most attempt logs are empty: the gzip member of nothing, without setting up zlib.
            try writeEmptyGzip(tmp, level: level, sync: syncData)
        } else {
            let writer = try GzipWriter(path: tmp, level: level, expectedSize: size)
            while n > 0 {
                try writer.write(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                n = try input.read(into: chunk)
            }
            try writer.finish(sync: syncData)
        }
    } catch {
        unlink(tmp)
        throw error
    }
    _ = try valueOrErrno(path: destination, "rename") { rename(tmp, destination) }
    if durable { try fsyncDirectory(of: destination) }
}

/// Writes what `GzipWriter` writes for no input: header, an empty final block, CRC 0, size 0.
func writeEmptyGzip(_ path: String, level: Int32, sync: Bool) throws(EventsError) {
    // Header: magic, deflate, no flags, mtime 0, XFL as zlib sets it for `level`, OS 3 (Unix).
    let xfl: UInt8 = level == 9 ? 2 : (level >= 0 && level < 2 ? 4 : 0)
    let bytes: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
    let fd = try openFile(path, O_WRONLY | O_CREAT | O_TRUNC)
    defer { closeFile(fd) }
    try writeAll(fd: fd, path: path, bytes)
    if sync { _ = try valueOrErrno(path: path, "fsync") { fsync(fd) } }
}

/// zlib's CRC-32 of a buffer, continuing from `previous`.
@inline(__always)
public func crc32Of(_ bytes: UnsafeRawBufferPointer, previous: UInt32 = 0) -> UInt32 {
    guard let base = bytes.baseAddress else { return previous }
    return UInt32(truncatingIfNeeded: crc32(uLong(previous), base.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
}
