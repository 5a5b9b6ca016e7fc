import VeloraEvents
import VeloraReplay
import VeloraRunner

/// Live progress while a session runs. On a terminal: per-model bars with
/// counts, elapsed time and ETA, redrawn in place (colours unless NO_COLOR).
/// Otherwise: one plain line per finished attempt.
final class ProgressDisplay: RunObserver {
    let console: Console
    let total: Int
    var finishedAttempts = 0
    /// Runs that reached a final outcome while this display watched, plus those before.
    var finishedRuns: Int
    var drawnLines = 0
    var latest: [String] = []
    let startMono = monotonicMillis()
    var lastDraw: UInt64 = 0

    init(console: Console, state: SessionState) {
        self.console = console
        total = state.runs.count
        finishedRuns = state.runs.filter { $0.status.isTerminal }.count
    }

    var tickInterval: UInt64? { console.isTerminal ? 1000 : nil }

    /// The state is only looked at, never kept: a second reference to the runner's
    /// state would make its next change copy every run.
    func recorded(_ events: [Event], state: SessionState) {
        for event in events {
            let line: String?
            switch event.kind {
            case let .attemptSucceeded(e): line = describe(e, "succeeded", state)
            case let .attemptFailed(e): line = describe(e, "failed", state)
            case let .attemptTimedOut(e): line = describe(e, "timed out", state)
            case let .attemptInterrupted(e): line = describe(e, "interrupted", state)
            default: line = nil
            }
            guard let line else { continue }
            finishedAttempts += 1
            if let run = EventText.run(of: event.kind), state.runs[Int(run)].status.isTerminal { finishedRuns += 1 }
            if console.isTerminal {
                latest.append(line)
                if latest.count > 4 { latest.removeFirst() }
            } else {
                console.out("[\(finishedRuns)/\(total)] \(line)\n")
            }
        }
        if console.isTerminal { draw(state, force: false) }
    }

    func tick(state: SessionState) {
        if console.isTerminal { draw(state, force: true) }
    }

    func describe(_ e: AttemptEnded, _ what: String, _ state: SessionState) -> String {
        let run = state.runs[Int(e.run)]
        var text = "\(what.padding(11)) \(run.model)/\(run.instanceID) (attempt \(e.attempt)"
        if let d = e.durationMs { text += ", \(humanDuration(d))" }
        text += ")"
        if what != "succeeded" { text += ": \(e.reason)" }
        return text
    }

    func color(_ code: String, _ text: String) -> String {
        console.colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func draw(_ state: SessionState, force: Bool) {
        let now = monotonicMillis()
        if !force && now - lastDraw < 200 { return }
        lastDraw = now
        let report = SessionReport(state, rows: false)
        var lines: [String] = []
        let elapsed = now - startMono
        let done = report.total.finished
        var header = "velora  \(done)/\(report.total.runs) runs  running \(state.runningCount)  elapsed \(humanDuration(elapsed))"
        if let mean = report.total.meanMs, done > 0, done < report.total.runs {
            let jobs = max(1, state.runningCount)
            header += "  eta ~\(humanDuration(mean * UInt64(report.total.runs - done) / UInt64(jobs)))"
        }
        lines.append(header)
        for m in report.models {
            let width = 24
            let filled = m.runs == 0 ? 0 : m.finished * width / m.runs
            let bar = color("32", String(repeating: "█", count: filled)) + String(repeating: "░", count: width - filled)
            var counts = "\(m.finished)/\(m.runs)  ok \(m.count(.succeeded))"
            let failed = m.count(.failed) + m.count(.timedOut) + m.count(.interrupted)
            if failed > 0 { counts += "  " + color("31", "failed \(failed)") }
            if m.count(.running) > 0 { counts += "  running \(m.count(.running))" }
            if m.count(.retrying) > 0 { counts += "  retrying \(m.count(.retrying))" }
            lines.append("  \(m.model.padding(10)) \(bar) \(counts)")
        }
        for l in latest { lines.append("  " + l) }
        var out = ""
        if drawnLines > 0 { out += "\u{1B}[\(drawnLines)A" }
        for l in lines { out += "\u{1B}[2K" + l + "\n" }
        drawnLines = lines.count
        console.out(out)
    }

    func finish(_ state: SessionState) {
        if console.isTerminal { draw(state, force: true) }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

/// The end-of-session summary per model.
enum Summary {
    static func text(_ state: SessionState) -> String {
        let report = SessionReport(state, rows: false)
        var out = "\n"
        for m in report.models {
            out += "\(m.model.padding(10)) \(m.count(.succeeded))/\(m.runs) succeeded"
            let parts = [("failed", m.count(.failed)), ("timed out", m.count(.timedOut)),
                         ("interrupted", m.count(.interrupted)), ("not finished", m.count(.queued) + m.count(.retrying) + m.count(.running))]
                .filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }
            if !parts.isEmpty { out += ", " + parts.joined(separator: ", ") }
            out += "\n"
        }
        return out
    }
}

/// Writes every report file into the session's `reports/`.
func writeReports(state: SessionState, layout: SessionLayout) throws {
    try ReportFiles.write(state: state, to: layout.reportsDir, formats: ReportFiles.allFormats, failedOnly: false)
}
