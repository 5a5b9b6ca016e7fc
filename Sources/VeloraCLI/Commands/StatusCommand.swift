import VeloraEvents
import VeloraReplay
import VeloraRunner

struct StatusCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "status",
        summary: "progress per model, running attempts, ETA; works while a runner is live",
        options: [
            OptionSpec("watch", help: "redraw as the log grows, until the runner stops"),
            OptionSpec("json", help: "machine-readable output"),
            outputOption,
        ],
        positionals: [PositionalSpec("SESSION", optional: true, help: "a session id or folder (default: the newest)")])

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let layout = try SessionStore.locate(args.positionals["SESSION"], output: sessionsFolder(args, console))
        var state = SessionState()
        var drawn = 0
        let json = args.flag("json")
        let render = {
            let text = json ? statusJSON(state, layout: layout) : statusText(state, layout: layout)
            if args.flag("watch") && console.isTerminal && !json {
                var out = drawn > 0 ? "\u{1B}[\(drawn)A\u{1B}[J" : ""
                out += text
                drawn = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
                console.out(out)
            } else {
                console.out(text)
            }
        }
        var dirty = false
        try LogFollower(layout: layout).read(follow: args.flag("watch"), onEvent: { state.apply($0); dirty = true },
                                             onIdle: { if dirty { render(); dirty = false } })
        // Once, or (watching) the final state after the runner let go.
        render()
        return ExitCode.success
    }

    static func runnerState(_ state: SessionState, layout: SessionLayout) -> String {
        if let holder = SessionLock.liveHolder(layout: layout) { return "running (pid \(holder.pid) on \(holder.host))" }
        if state.completed { return "finished" }
        if state.liveRunner != nil { return "crashed (the runner died without recording its stop; velora resume continues)" }
        if let stop = state.lastStop {
            let why = stop.reason == "error" ? "error: \(stop.detail ?? "-")" : stop.reason
            return "stopped (\(why)); velora resume continues"
        }
        return "not started"
    }

    static func statusText(_ state: SessionState, layout: SessionLayout) -> String {
        let report = SessionReport(state, rows: false)
        var out = "session \(report.sessionID): \(runnerState(state, layout: layout))\n"
        var table = [["model", "runs", "queued", "running", "ok", "failed", "timeout", "intr", "retrying"]]
        for m in report.models + [report.total] {
            table.append([m.model, "\(m.runs)", "\(m.count(.queued))", "\(m.count(.running))", "\(m.count(.succeeded))",
                          "\(m.count(.failed))", "\(m.count(.timedOut))", "\(m.count(.interrupted))", "\(m.count(.retrying))"])
        }
        var widths = [Int](repeating: 0, count: table[0].count)
        for row in table { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        for row in table {
            out += row.enumerated().map { i, c in
                i == 0 ? c.padding(widths[i]) : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  ") + "\n"
        }
        let now = wallMillis()
        let running = state.runs.filter { $0.status == .running }
        if !running.isEmpty {
            out += "running:\n"
            for r in running.prefix(50) {
                guard let a = r.attempts.last else { continue }
                var where_ = a.started.host
                if let pid = a.started.pid { where_ += " pid \(pid)" }
                if let job = a.started.jobID { where_ += " job \(job)" }
                out += "  \(r.model)/\(r.instanceID) attempt \(a.number) on \(where_), \(humanDuration(UInt64(max(0, now - a.startedAt))))\n"
            }
            if running.count > 50 { out += "  ... and \(running.count - 50) more\n" }
        }
        if let eta = eta(report, running: running.count) { out += "eta: ~\(humanDuration(eta))\n" }
        if !state.findings.isEmpty { out += "log findings: \(state.findings.count) (see velora verify)\n" }
        return out
    }

    /// Remaining runs times the mean finished duration, spread over the running slots.
    static func eta(_ report: SessionReport, running: Int) -> UInt64? {
        let remaining = report.total.runs - report.total.finished
        guard remaining > 0, let mean = report.total.meanMs else { return nil }
        return mean * UInt64(remaining) / UInt64(max(1, running))
    }

    static func statusJSON(_ state: SessionState, layout: SessionLayout) -> String {
        let report = SessionReport(state, rows: false)
        var w = JSONWriter()
        w.beginObject()
        w.string("session", report.sessionID)
        w.string("runner", runnerState(state, layout: layout))
        w.int("as_of_seq", state.lastSeq)
        w.beginArray("models")
        for m in report.models + [report.total] {
            w.beginObject()
            w.string("model", m.model)
            w.int("runs", m.runs)
            for s in RunStatus.allCases { w.int(s.rawValue, m.count(s)) }
            w.endObject()
        }
        w.endArray()
        w.beginArray("running")
        let now = wallMillis()
        for r in state.runs where r.status == .running {
            guard let a = r.attempts.last else { continue }
            w.beginObject()
            w.string("model", r.model)
            w.string("instance_id", r.instanceID)
            w.int("attempt", a.number)
            w.string("host", a.started.host)
            w.int("pid", a.started.pid)
            w.string("job_id", a.started.jobID)
            w.number("elapsed_s", Double(max(0, now - a.startedAt)) / 1000, places: 1)
            w.endObject()
        }
        w.endArray()
        w.number("eta_s", eta(report, running: state.runningCount).map { Double($0) / 1000 }, places: 0)
        w.endObject()
        return w.text + "\n"
    }
}
