import VeloraEvents
import VeloraReplay
import VeloraRunner

struct LogCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "log",
        summary: "prints a session's event history",
        options: [
            OptionSpec("run", value: "MODEL/INSTANCE", help: "only the events of this run"),
            OptionSpec("json", help: "JSON Lines, one object per event (for jq)"),
            OptionSpec("follow", help: "keep printing new events while a runner appends"),
            outputOption,
        ],
        positionals: [PositionalSpec("SESSION", optional: true, help: "a session id or folder (default: the newest)")])

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let layout = try SessionStore.locate(args.positionals["SESSION"], output: sessionsFolder(args, console))
        var filter: (model: String, instance: String)?
        if let run = args.value("run") {
            guard let slash = run.firstIndex(of: "/") else {
                throw UsageError(message: "velora log: --run must be MODEL/INSTANCE, got \(run.debugDescription)")
            }
            filter = (String(run[..<slash]), String(run[run.index(after: slash)...]))
        }
        var state = SessionState()
        var matched = false
        let json = args.flag("json")
        let print: (Event) -> Void = { event in
            state.apply(event)
            if let filter {
                guard let run = EventText.run(of: event.kind), Int(run) < state.runs.count,
                      state.runs[Int(run)].model == filter.model, state.runs[Int(run)].instanceID == filter.instance else { return }
                matched = true
            }
            console.out((json ? EventText.json(event, state: state) : EventText.line(event, state: state)) + "\n")
        }
        try LogFollower(layout: layout).read(follow: args.flag("follow"), onEvent: print)
        if let filter, !matched, !state.runs.contains(where: { $0.model == filter.model && $0.instanceID == filter.instance }) {
            throw RunnerError.invalidInput("velora log: no run \(filter.model)/\(filter.instance) in this session")
        }
        return ExitCode.success
    }
}
