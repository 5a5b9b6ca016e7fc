#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a system call that reports failure as -1 with errno, retrying EINTR.
/// `close` must not go through this: a retried close may close a reused descriptor.
@inlinable
public func valueOrErrno<T: FixedWidthInteger>(
    path: String, _ operation: String, _ body: () -> T
) throws(EventsError) -> T {
    while true {
        let value = body()
        if value != -1 { return value }
        let code = errno
        if code == EINTR { continue }
        throw .io(path: path, operation: operation, errno: code)
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
public func writeAll(fd: Int32, path: String, _ bytes: UnsafeRawBufferPointer) throws(EventsError) {
    guard let base = bytes.baseAddress else { return }
    var offset = 0
    while offset < bytes.count {
        let n = try valueOrErrno(path: path, "write") {
            write(fd, base + offset, bytes.count - offset)
        }
        offset += n
    }
}

/// Writes all of `bytes` to `fd`.
public func writeAll(fd: Int32, path: String, _ bytes: [UInt8]) throws(EventsError) {
    try bytes.withBytes { (raw) throws(EventsError) in try writeAll(fd: fd, path: path, raw) }
}

/// Reads up to `count` bytes; 0 means end of file.
public func readSome(fd: Int32, path: String, into buffer: UnsafeMutableRawBufferPointer) throws(EventsError) -> Int {
    try valueOrErrno(path: path, "read") { read(fd, buffer.baseAddress, buffer.count) }
}

/// Opens a file with O_CLOEXEC always added.
public func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(EventsError) -> Int32 {
    try valueOrErrno(path: path, "open") { open(path, flags | O_CLOEXEC, mode) }
}

/// Closes a descriptor once; errors are ignored because the descriptor is gone either way.
public func closeFile(_ fd: Int32) {
    _ = close(fd)
}

/// fsyncs the directory holding `path`, so a rename or create in it is durable.
public func fsyncDirectory(of path: String) throws(EventsError) {
    let dir = parentDirectory(path)
    let fd = try openFile(dir, O_RDONLY | O_DIRECTORY)
    defer { closeFile(fd) }
    _ = try valueOrErrno(path: dir, "fsync") { fsync(fd) }
}

/// The parent folder of a path ("." for a bare name).
public func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

/// `path` if it is a folder, else its nearest ancestor that is ("/" at worst).
public func existingAncestor(_ path: String) -> String {
    var current = path
    while current != "/" && current != "." {
        var st = stat()
        if stat(current, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { return current }
        current = parentDirectory(current)
    }
    return current
}

/// Whether a file or folder exists at `path`.
public func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

/// Creates `path` and its missing parents (mode 0755).
public func makeDirectories(_ path: String) throws(EventsError) {
    if fileExists(path) { return }
    let parent = parentDirectory(path)
    if parent != path && parent != "." && parent != "/" { try makeDirectories(parent) }
    if mkdir(path, 0o755) != 0 && errno != EEXIST {
        throw .io(path: path, operation: "mkdir", errno: errno)
    }
}

/// Writes a whole file atomically: to a temporary name, fsync, rename, fsync the folder.
public func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws(EventsError) {
    try writeFileAtomically(path) { (fd, tmp) throws(EventsError) in try writeAll(fd: fd, path: tmp, bytes) }
}

/// Writes a whole file atomically from `body`, which writes to the descriptor of the
/// temporary file (named by its second argument): fsync, rename, fsync the folder.
public func writeFileAtomically(_ path: String, _ body: (Int32, String) throws(EventsError) -> Void) throws(EventsError) {
    let tmp = path + ".tmp"
    let fd = try openFile(tmp, O_WRONLY | O_CREAT | O_TRUNC)
    do throws(EventsError) {
        try body(fd, tmp)
        _ = try valueOrErrno(path: tmp, "fsync") { fsync(fd) }
    } catch {
        closeFile(fd)
        unlink(tmp)
        throw error
    }
    closeFile(fd)
    _ = try valueOrErrno(path: path, "rename") { rename(tmp, path) }
    try fsyncDirectory(of: path)
}

/// Writes a whole file without syncing it: for files that are recreated when lost.
public func writeFile(_ path: String, _ bytes: [UInt8]) throws(EventsError) {
    let fd = try openFile(path, O_WRONLY | O_CREAT | O_TRUNC)
    defer { closeFile(fd) }
    try writeAll(fd: fd, path: path, bytes)
}

/// Reads a whole (small) file.
public func readWholeFile(_ path: String) throws(EventsError) -> [UInt8] {
    let fd = try openFile(path, O_RDONLY)
    defer { closeFile(fd) }
    var out: [UInt8] = []
    // Not zero-filled: callers read many tiny files (/proc), where filling a
    // large chunk cost more than the read itself.
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 16)
    defer { chunk.deallocate() }
    while true {
        let n = try readSome(fd: fd, path: path, into: chunk)
        if n == 0 { break }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
    }
    return out
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` keeping the typed error (the standard one rethrows `any Error`).
    @inline(__always)
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(EventsError) -> R) throws(EventsError) -> R {
        try withUnsafeBytes { raw in Result { () throws(EventsError) in try body(raw) } }.get()
    }

    /// `withUnsafeMutableBytes` keeping the typed error.
    @inline(__always)
    public mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(EventsError) -> R) throws(EventsError) -> R {
        try withUnsafeMutableBytes { raw in Result { () throws(EventsError) in try body(raw) } }.get()
    }
}
