#if canImport(Glibc)
import Glibc
#endif
import CVeloraShim

/// A short helper command's result (sbatch, squeue, scancel).
public struct CommandResult: Sendable, Equatable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs a helper program with posix_spawn, capturing its output; waits for it.
/// `environment` nil: velora's own.
public func runCommand(_ argv: [String], environment: [String: String]? = nil) -> CommandResult {
    var outPipe: [Int32] = [-1, -1]
    var errPipe: [Int32] = [-1, -1]
    guard velora_pipe_cloexec_nonblock(&outPipe) == 0, velora_pipe_cloexec_nonblock(&errPipe) == 0 else {
        return CommandResult(status: -1, stdout: "", stderr: "cannot create pipes: \(String(cString: strerror(errno)))")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for s in [SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE] { sigaddset(&defaults, s) }
    posix_spawnattr_setsigdefault(&attr, &defaults)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF))

    let args = argv.map { strdup($0) } + [nil]
    defer { for p in args { free(p) } }
    let env = (environment ?? currentEnvironment()).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in env { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawnp(&pid, argv[0], &actions, &attr, args, env)
    _ = close(outPipe[1])
    _ = close(errPipe[1])
    defer { _ = close(outPipe[0]); _ = close(errPipe[0]) }
    guard rc == 0 else {
        return CommandResult(status: -1, stdout: "", stderr: "cannot run \(argv[0]): \(String(cString: strerror(rc)))")
    }
    var out: [UInt8] = []
    var err: [UInt8] = []
    var open = [outPipe[0], errPipe[0]]
    var buffer = [UInt8](repeating: 0, count: 65536)
    while !open.isEmpty {
        var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if poll(&fds, nfds_t(fds.count), -1) < 0 && errno != EINTR { break }
        for f in fds where f.revents != 0 {
            let n = buffer.withUnsafeMutableBytes { read(f.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                if f.fd == outPipe[0] { out += buffer[0..<n] } else { err += buffer[0..<n] }
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                open.removeAll { $0 == f.fd }
            }
        }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let code = velora_wifexited(status) != 0 ? velora_wexitstatus(status) : 128 + velora_wtermsig(status)
    return CommandResult(status: code, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
}

/// velora's own environment as a dictionary.
public func currentEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let text = String(cString: entry)
        if let eq = text.firstIndex(of: "=") {
            result[String(text[..<eq])] = String(text[text.index(after: eq)...])
        }
        p += 1
    }
    return result
}
