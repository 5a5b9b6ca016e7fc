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
                try writeFileAtomically(dir + "/results.csv", ReportRenderer.resultsCSVBytes(report, failedOnly: failedOnly))
                try writeFileAtomically(dir + "/attempts.csv", ReportRenderer.attemptsCSVBytes(state, failedOnly: failedOnly))
            case "json":
                try writeFileAtomically(dir + "/summary.json", ReportRenderer.summaryJSONBytes(report, failedOnly: failedOnly))
            case "html":
                try writeFileAtomically(dir + "/report.html", ReportRenderer.htmlBytes(report, sessionLink: sessionLink))
            default:
                break
            }
        }
        return text
    }
}
