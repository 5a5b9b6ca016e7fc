#if canImport(Glibc)
import Glibc
#endif
import VeloraEvents

/// The one-writer lock of a session: `flock` on `<session>/lock`, which also
/// holds the holder's pid and host for the message a second runner gets.
/// The kernel drops the lock when the holder dies, so a crash never leaves a
/// stale lock behind.
public final class SessionLock {
    let fd: Int32
    public let path: String

    /// Takes the lock or throws `RunnerError.locked` naming the live holder.
    public init(layout: SessionLayout, sessionName: String) throws(RunnerError) {
        path = layout.lockPath
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .session("\(path): cannot open the lock file: \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = SessionLock.holder(fd: fd)
            _ = close(fd)
            throw .locked(pid: holder.pid, host: holder.host, session: sessionName)
        }
        self.fd = fd
        let text = Array("\(getpid()) \(hostName())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        _ = flock(fd, LOCK_UN)
        _ = close(fd)
    }

    static func holder(fd: Int32) -> (pid: Int32, host: String) {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return (0, "unknown host") }
        let parts = String(decoding: buffer[0..<n], as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        return (parts.first.flatMap { Int32($0) } ?? 0, parts.count > 1 ? String(parts[1]) : "unknown host")
    }

    /// The live holder of a session's lock, or nil when no runner holds it.
    public static func liveHolder(layout: SessionLayout) -> (pid: Int32, host: String)? {
        let fd = open(layout.lockPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return nil
        }
        return holder(fd: fd)
    }
}
