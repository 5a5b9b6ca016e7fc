#if canImport(Glibc)
import Glibc
#endif
import VeloraEvents

/// Finding processes through /proc: by the token every process of an attempt
/// inherits in its environment (it survives `setsid`, double forks and
/// reparenting, which a process group does not), and this process's children.
public enum ProcessTable {
    public static let tokenVariable = "VELORA_ATTEMPT_TOKEN"

    /// Every live (non-zombie) process whose environment has a token starting with `prefix`.
    public static func processes(withTokenPrefix prefix: String) -> [Int32] {
        let needle = Array("\(tokenVariable)=\(prefix)".utf8)
        var found: [Int32] = []
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        let me = getpid()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), pid != me else { continue }
            if environment(of: pid, buffer: &buffer, contains: needle) && !isZombie(pid) {
                found.append(pid)
            }
        }
        return found.sorted()
    }

    static func environment(of pid: Int32, buffer: inout [UInt8], contains needle: [UInt8]) -> Bool {
        let fd = open("/proc/\(pid)/environ", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { _ = close(fd) }
        var data: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        // Entries are NUL-separated; the token must start an entry.
        var start = 0
        while start < data.count {
            let end = data[start...].firstIndex(of: 0) ?? data.count
            if end - start >= needle.count && data[start..<(start + needle.count)].elementsEqual(needle) { return true }
            start = end + 1
        }
        return false
    }

    /// Whether the process is a zombie (dead, waiting to be reaped), or gone.
    public static func isZombie(_ pid: Int32) -> Bool {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return true }
        defer { _ = close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0, let close = buffer[0..<n].lastIndex(of: UInt8(ascii: ")")), close + 2 < n else { return true }
        let state = buffer[close + 2]
        return state == UInt8(ascii: "Z") || state == UInt8(ascii: "X")
    }

    /// This process's children (all threads), or nil when the kernel does not say.
    /// Called after every attempt: parses bytes, no strings per entry.
    public static func children() -> Set<Int32>? {
        guard let dir = opendir("/proc/self/task") else { return nil }
        defer { closedir(dir) }
        var result = Set<Int32>()
        var sawAny = false
        while let entry = readdir(dir) {
            let tid = withUnsafeBytes(of: entry.pointee.d_name) { raw in pids(in: raw.prefix { $0 != 0 }).first }
            guard let tid else { continue }
            guard let bytes = try? readWholeFile("/proc/self/task/\(tid)/children") else { return nil }
            sawAny = true
            result.formUnion(pids(in: bytes))
        }
        return sawAny ? result : nil
    }

    /// The decimal numbers in a list separated by spaces or newlines (anything else ends a
    /// number); one of more than 9 digits, which no pid has, is dropped.
    static func pids<C: Collection>(in bytes: C) -> [Int32] where C.Element == UInt8 {
        var found: [Int32] = []
        var value: Int32 = 0
        var digits = 0
        for b in bytes {
            if b >= 0x30 && b <= 0x39 {
                if digits < 9 { value = value * 10 + Int32(b - 0x30) }
                digits += 1
            } else {
                if digits > 0 && digits <= 9 { found.append(value) }
                value = 0
                digits = 0
            }
        }
        if digits > 0 && digits <= 9 { found.append(value) }
        return found
    }

    /// Sends `signal` to each pid (ignoring those already gone).
    public static func signal(_ pids: [Int32], _ signal: Int32) {
        for pid in pids where pid > 1 { _ = Glibc.kill(pid, signal) }
    }
}

