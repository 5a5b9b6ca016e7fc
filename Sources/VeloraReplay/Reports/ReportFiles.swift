import VeloraEvents

/// Writing the report files.
public enum ReportFiles {
    public static let allFormats = ["text", "csv", "json", "html"]

    /// Writes the chosen formats into `dir` (atomically, one file each); returns
    /// the text report when it was one of them (the CLI prints it too).
    @discardableResult
    public static func write(state: SessionState, to dir: String, formats: [String], failedOnly: Bool,
                             sessionLink: String = "../") throws -> String? {
        try makeDirectories(dir)
        let report = SessionReport(state)
        var text: String?
        for format in formats {
            switch format {
            case "text":
                let rendered = ReportRenderer.text(report, failedOnly: failedOnly)
                text = rendered
                try writeFileAtomically(dir + "/report.txt", Array(rendered.utf8))
            case "csv":
                try stream(dir + "/results.csv") { ReportRenderer.resultsCSV(report, failedOnly: failedOnly, into: &$0) }
                try stream(dir + "/attempts.csv") { ReportRenderer.attemptsCSV(state, failedOnly: failedOnly, into: &$0) }
            case "json":
                try stream(dir + "/summary.json") { ReportRenderer.summaryJSON(report, failedOnly: failedOnly, into: &$0) }
            case "html":
                try stream(dir + "/report.html") { ReportRenderer.html(report, sessionLink: sessionLink, into: &$0) }
            default:
                break
            }
        }
        return text
    }

    /// Writes a file atomically as it is rendered, a megabyte at a time.
    static func stream(_ path: String, _ render: (inout ReportBuffer) -> Void) throws(EventsError) {
        try writeFileAtomically(path) { (fd, tmp) throws(EventsError) in
            let sink = ReportSink(fd: fd, path: tmp)
            var buffer = ReportBuffer(sink: sink)
            render(&buffer)
            buffer.flush()
            if let failure = sink.failure { throw failure }
        }
    }
}
