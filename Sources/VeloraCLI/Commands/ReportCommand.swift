import Foundation
import VeloraEvents
import VeloraReplay
import VeloraRunner

struct ReportCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "report",
        summary: "writes the reports (text, csv, json, html) rebuilt from the log",
        options: [
            OptionSpec("format", value: "LIST", help: "any of text,csv,json,html (default: all)"),
            OptionSpec("out", value: "DIR", help: "write the files here instead of the session's reports/"),
            OptionSpec("failed", help: "only what did not succeed"),
            OptionSpec("as-of", value: "SEQ|TIME", help: "the state at an earlier moment: an event number, or a UTC time like 2026-12-03T16:04:18Z"),
            outputOption,
        ],
        positionals: [PositionalSpec("SESSION", optional: true, help: "a session id or folder (default: the newest)")],
        details: "Reports are a pure function of the log: rebuilt from the same log they are byte-identical.")

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let layout = try SessionStore.locate(args.positionals["SESSION"], output: sessionsFolder(args, console))
        let formats = args.value("format").map { $0.split(separator: ",").map(String.init) } ?? ReportFiles.allFormats
        for f in formats where !ReportFiles.allFormats.contains(f) {
            throw UsageError(message: "velora report: --format: unknown format \(f.debugDescription) (text, csv, json, html)")
        }
        let limit = try args.value("as-of").map(AsOf.parse)
        guard let path = layout.readableLogPath else { throw RunnerError.session("\(layout.root): no event log") }
        let reader = try LogReader(path: path)
        var state = SessionState()
        while let event = try reader.next() {
            if let limit, !limit.includes(event) { break }
            state.apply(event)
        }
        let dir = args.value("out").map { absolutePath($0, base: console.cwd) } ?? layout.reportsDir
        let link = args.value("out") == nil ? "../" : layout.root + "/"
        // The text report is rendered once, for its file and for the terminal.
        if let text = try ReportFiles.write(state: state, to: dir, formats: formats, failedOnly: args.flag("failed"),
                                            sessionLink: link) {
            console.out(text)
        }
        console.err("reports: \(dir)\n")
        return ExitCode.success
    }
}

/// `--as-of`: an event number or a UTC time.
enum AsOf {
    case seq(UInt64)
    case time(Int64)

    func includes(_ e: Event) -> Bool {
        switch self {
        case let .seq(s): e.seq <= s
        case let .time(t): e.time <= t
        }
    }

    static func parse(_ text: String) throws -> AsOf {
        if let seq = UInt64(text) { return .seq(seq) }
        if let ms = parseISOTime(text) { return .time(ms) }
        throw UsageError(message: "velora report: --as-of: \(text.debugDescription) is neither an event number nor a UTC time like 2026-12-03T16:04:18Z")
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.mmm]Z` (or a space for T, Z optional) as UTC.
func parseISOTime(_ text: String) -> Int64? {
    let s = text.replacingOccurrences(of: " ", with: "T")
    let pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z?$/
    guard let m = s.wholeMatch(of: pattern) else { return nil }
    var parts = tm()
    parts.tm_year = (Int32(m.1) ?? 0) - 1900
    parts.tm_mon = (Int32(m.2) ?? 0) - 1
    parts.tm_mday = (Int32(m.3) ?? 0)
    parts.tm_hour = (Int32(m.4) ?? 0)
    parts.tm_min = (Int32(m.5) ?? 0)
    parts.tm_sec = (Int32(m.6) ?? 0)
    let seconds = timegm(&parts)
    var millis: Int64 = 0
    if let frac = m.7 { millis = Int64(frac.padding(toLength: 3, withPad: "0", startingAt: 0)) ?? 0 }
    return Int64(seconds) * 1000 + millis
}
