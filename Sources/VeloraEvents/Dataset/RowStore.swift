#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dataset's rows, byte for byte, by index: in memory, or in a scratch file
/// (unlinked as soon as it is created, so nothing is left behind, even after a
/// crash) when the dataset may be large — 50,000 full SWE-bench rows are
/// gigabytes, and a runner needs one row at a time. Memory is then 16 bytes a row.
/// Rows are appended while loading, then `sealed`; after that the store is only read
/// (`pread` at known offsets), so it can be shared between threads.
public final class RowStore: @unchecked Sendable {
    private var spans: [(offset: UInt64, length: UInt32)] = []
    private var memory: [UInt8] = []
    private var pending: [UInt8] = []
    private var written: UInt64 = 0
    private let fd: Int32?
    private let label: String

    /// Rows in memory.
    public init() {
        fd = nil
        label = "memory"
    }

    /// Rows in an unlinked scratch file in `folder`.
    public init(spillingInto folder: String) throws(EventsError) {
        var template = Array((folder + "/.velora-rows-XXXXXX").utf8CString)
        // mkostemp(O_CLOEXEC) is not visible to Swift here; the dataset is loaded
        // before any process is spawned, so nothing can inherit the descriptor in between.
        let fd = try valueOrErrno(path: folder, "mkstemp") {
            template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard unlink(path) == 0 else {
            let code = errno
            closeFile(fd)
            throw .io(path: path, operation: "unlink", errno: code)
        }
        self.fd = fd
        label = path
    }

    deinit {
        if let fd { closeFile(fd) }
    }

    public var count: Int { spans.count }

    /// Appends one row (before `seal`).
    public func append(_ row: [UInt8]) throws(EventsError) {
        guard let length = UInt32(exactly: row.count) else {
            throw .io(path: label, operation: "append (a row of 4 GiB or more)", errno: EFBIG)
        }
        guard let fd else {
            spans.append((UInt64(memory.count), length))
            memory += row
            return
        }
        spans.append((written + UInt64(pending.count), length))
        pending += row
        if pending.count >= 1 << 20 { try flush(fd) }
    }

    /// Ends the appends: what is buffered goes to the scratch file.
    public func seal() throws(EventsError) {
        if let fd, !pending.isEmpty { try flush(fd) }
        pending = []
    }

    private func flush(_ fd: Int32) throws(EventsError) {
        try writeAll(fd: fd, path: label, pending)
        written += UInt64(pending.count)
        pending.removeAll(keepingCapacity: true)
    }

    /// The row at `index`, byte for byte.
    public func row(_ index: Int) throws(EventsError) -> [UInt8] {
        let span = spans[index]
        guard let fd else {
            let start = Int(span.offset)
            return Array(memory[start..<(start + Int(span.length))])
        }
        var out = [UInt8](repeating: 0, count: Int(span.length))
        var done = 0
        while done < out.count {
            let n = try out.withMutableBytes { (raw) throws(EventsError) -> Int in
                let base = raw.baseAddress
                return try valueOrErrno(path: label, "pread") {
                    pread(fd, base.map { $0 + done }, raw.count - done, off_t(span.offset) + off_t(done))
                }
            }
            if n == 0 { throw .io(path: label, operation: "pread (file shorter than written)", errno: EIO) }
            done += n
        }
        return out
    }
}
