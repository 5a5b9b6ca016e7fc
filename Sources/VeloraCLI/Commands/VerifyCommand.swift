import VeloraEvents
import VeloraReplay
import VeloraRunner

struct VerifyCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "verify",
        summary: "checks a session's log: framing, checksums, sequence, legal transitions",
        options: [outputOption],
        positionals: [PositionalSpec("SESSION", optional: true, help: "a session id or folder (default: the newest)")],
        details: "Exit 0 when the log is sound (a torn tail, from a crash mid-write, is a warning), 4 otherwise.")

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let layout = try SessionStore.locate(args.positionals["SESSION"], output: sessionsFolder(args, console))
        guard let path = layout.readableLogPath else { throw RunnerError.session("\(layout.root): no event log") }
        let v = try Verification.verify(path: path)
        var out = "\(path): \(v.events) events"
        if let last = v.state.lastSeq as UInt64?, last > 0 { out += ", last #\(last)" }
        out += "\n"
        for problem in v.problems { out += "error: \(problem)\n" }
        if case let .torn(offset, bytes) = v.tail {
            out += "warning: torn tail of \(bytes) bytes at byte \(offset) (a write cut short by a crash; the next runner repairs it)\n"
        }
        for repair in v.state.repairs {
            out += "note: a torn tail of \(repair.droppedBytes) bytes at byte \(repair.offset) was repaired\n"
        }
        out += v.isClean ? "ok\n" : "\(v.problems.count) problem(s)\n"
        console.out(out)
        return v.isClean ? ExitCode.success : ExitCode.corruptLog
    }
}
