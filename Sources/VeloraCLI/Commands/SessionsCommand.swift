import VeloraEvents
import VeloraReplay
import VeloraRunner

struct SessionsCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "sessions",
        summary: "lists sessions with their counts and state",
        options: [OptionSpec("json", help: "JSON Lines, one object per session"), outputOption])

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let folder = sessionsFolder(args, console)
        let sessions = SessionStore.list(output: folder)
        if sessions.isEmpty && !args.flag("json") {
            console.err("velora: no sessions under \(folder)\n")
            return ExitCode.success
        }
        var table = [["session", "created", "state", "runs", "ok", "failed", "timeout", "intr", "open"]]
        for layout in sessions {
            let name = lastPathComponent(layout.root)
            var state = SessionState()
            var stateText: String
            do {
                state = try SessionStore.load(layout).state
                stateText = sessionState(state, layout: layout)
            } catch {
                stateText = "unreadable log"
            }
            let r = SessionReport(state, rows: false)
            let open = r.total.count(.queued) + r.total.count(.running) + r.total.count(.retrying)
            if args.flag("json") {
                var w = JSONWriter()
                w.beginObject()
                w.string("session", name)
                w.string("folder", layout.root)
                w.string("created", state.firstTime.map(isoTime))
                w.string("state", stateText)
                w.int("runs", r.total.runs)
                for s in RunStatus.allCases { w.int(s.rawValue, r.total.count(s)) }
                w.endObject()
                console.out(w.text + "\n")
            } else {
                table.append([name, state.firstTime.map(isoTime).map { String($0.prefix(19)) } ?? "-", stateText,
                              "\(r.total.runs)", "\(r.total.count(.succeeded))", "\(r.total.count(.failed))",
                              "\(r.total.count(.timedOut))", "\(r.total.count(.interrupted))", "\(open)"])
            }
        }
        if !args.flag("json") {
            var widths = [Int](repeating: 0, count: table[0].count)
            for row in table { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
            for row in table {
                console.out(row.enumerated().map { i, c in i < 3 ? c.padding(widths[i]) : String(repeating: " ", count: widths[i] - c.count) + c }
                    .joined(separator: "  ") + "\n")
            }
        }
        return ExitCode.success
    }

    /// running (a live runner holds the lock), finished, crashed (a runner started and
    /// never recorded its stop, and none is alive), stopped (interrupted or cancelled).
    static func sessionState(_ state: SessionState, layout: SessionLayout) -> String {
        if SessionLock.liveHolder(layout: layout) != nil { return "running" }
        if state.completed { return "finished" }
        if state.liveRunner != nil { return "crashed" }
        if state.lastStop != nil { return "stopped" }
        return "created"
    }
}
