#if canImport(Glibc)
import Glibc
#endif
import VeloraEvents
import VeloraRunner

struct CancelCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "cancel",
        summary: "asks the live runner of a session to stop gracefully",
        options: [
            OptionSpec("wait", help: "wait until the runner has stopped"),
            outputOption,
        ],
        positionals: [PositionalSpec("SESSION", optional: true, help: "a session id or folder (default: the newest)")],
        details: "The runner gets SIGTERM: it starts nothing more, stops its attempts (SIGTERM, then SIGKILL after\nkill_grace), records them interrupted and exits 130. `velora resume` continues the session.")

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let layout = try SessionStore.locate(args.positionals["SESSION"], output: sessionsFolder(args, console))
        let name = lastPathComponent(layout.root)
        guard let holder = SessionLock.liveHolder(layout: layout) else {
            console.err("velora: session \(name) has no live runner\n")
            return ExitCode.failedRuns
        }
        guard holder.host == hostName() else {
            throw RunnerError.session("the runner of \(name) is on \(holder.host) (pid \(holder.pid)); run velora cancel there")
        }
        guard kill(holder.pid, SIGTERM) == 0 else {
            throw RunnerError.system("cannot signal pid \(holder.pid): \(String(cString: strerror(errno)))")
        }
        console.err("velora: asked the runner of \(name) (pid \(holder.pid)) to stop\n")
        if args.flag("wait") {
            // The lock is released when the runner exits; flock blocks until then.
            let fd = open(layout.lockPath, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = flock(fd, LOCK_SH)
                _ = close(fd)
            }
            console.err("velora: the runner has stopped\n")
        }
        return ExitCode.success
    }
}
