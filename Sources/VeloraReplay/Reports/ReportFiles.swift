import VeloraEvents

/// Writing the report files.
public enum ReportFiles {
    public static let allFormats = ["text", "csv", "json", "html"]

    /// Writes the chosen formats into `dir` (atomically, one file each).
    public static func write(state: SessionState, to dir: String, formats: [String], failedOnly: Bool,
                             sessionLink: String = "../") throws {
        try makeDirectories(dir)
        let report = SessionReport(state)
        for format in formats {
            switch format {
            case "text":
                try writeFileAtomically(dir + "/report.txt", Array(ReportRenderer.text(report, failedOnly: failedOnly).utf8))
            case "csv":
                try writeFileAtomically(dir + "/results.csv", Array(ReportRenderer.resultsCSV(report, failedOnly: failedOnly).utf8))
                try writeFileAtomically(dir + "/attempts.csv", Array(ReportRenderer.attemptsCSV(state, failedOnly: failedOnly).utf8))
            case "json":
                try writeFileAtomically(dir + "/summary.json", Array(ReportRenderer.summaryJSON(report, failedOnly: failedOnly).utf8))
            case "html":
                try writeFileAtomically(dir + "/report.html", Array(ReportRenderer.html(report, sessionLink: sessionLink).utf8))
            default:
                break
            }
        }
    }
}
