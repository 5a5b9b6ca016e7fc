import VeloraEvents

/// The report files, as pure functions of a `SessionReport`.
public enum ReportRenderer {
    static let statusOrder: [RunStatus] = [.succeeded, .failed, .timedOut, .interrupted, .running, .retrying, .queued]

    static func label(_ s: RunStatus) -> String {
        switch s {
        case .timedOut: "timed out"
        default: s.rawValue
        }
    }

    // MARK: report.txt

    public static func text(_ r: SessionReport, failedOnly: Bool = false) -> String {
        var out = "velora report — session \(r.sessionID)\n"
        out += "as of event #\(r.asOfSeq)"
        if let t = r.lastTime { out += " (\(isoTime(t)))" }
        out += r.completed ? ", session completed\n" : ", session not completed\n"
        if let first = r.firstTime, let last = r.lastTime {
            out += "wall time: \(humanDuration(UInt64(max(0, last - first))))\n"
        }
        out += "\n"
        let header = ["model", "runs", "success", "ok", "failed", "timeout", "intr", "other", "attempts",
                      "mean", "p50", "p95", "max", "cost", "api calls", "patches"]
        var table = [header]
        for m in r.models + [r.total] {
            let other = m.count(.queued) + m.count(.running) + m.count(.retrying)
            table.append([m.model, "\(m.runs)", fixed(m.successRate * 100, 1) + "%", "\(m.count(.succeeded))",
                          "\(m.count(.failed))", "\(m.count(.timedOut))", "\(m.count(.interrupted))", "\(other)",
                          "\(m.attempts)", m.meanMs.map(humanDuration) ?? "-", m.percentile(50).map(humanDuration) ?? "-",
                          m.percentile(95).map(humanDuration) ?? "-", m.durations.last.map(humanDuration) ?? "-",
                          m.costKnown > 0 ? "$" + fixed(m.cost, 2) : "-", m.withMetrics > 0 ? "\(m.apiCalls)" : "-",
                          m.withMetrics > 0 ? "\(m.submitted)" : "-"])
        }
        out += alignTable(table, separatorAfterRow: r.models.count)
        let tokens = r.models.filter { $0.tokensSent + $0.tokensReceived > 0 }
        if !tokens.isEmpty {
            out += "\ntokens (sent / received):\n"
            for m in tokens { out += "  \(m.model): \(m.tokensSent) / \(m.tokensReceived)\n" }
        }
        let statuses = r.models.filter { !$0.exitStatuses.isEmpty }
        if !statuses.isEmpty {
            out += "\nagent exit status (final attempts):\n"
            for m in statuses {
                let parts = m.exitStatuses.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                out += "  \(m.model): \(parts.joined(separator: ", "))\n"
            }
        }
        let problems = r.rows.filter { $0.status != .succeeded }
        if !problems.isEmpty {
            out += "\nnot succeeded (\(problems.count)):\n"
            for row in problems {
                out += "  \(label(row.status).padding(11)) \(row.model)/\(row.instanceID)"
                out += "  attempts \(row.attempts)"
                if let reason = row.reason { out += "  \(reason)" }
                if let log = row.logPath { out += "\n              log: \(log)" }
                out += "\n"
            }
        } else if failedOnly {
            out += "\nevery run succeeded\n"
        }
        if !r.findings.isEmpty {
            out += "\nlog findings (\(r.findings.count)): run `velora verify` for details\n"
        }
        return out
    }

    static func alignTable(_ rows: [[String]], separatorAfterRow: Int) -> String {
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for (index, row) in rows.enumerated() {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += i == 0 ? cell.padding(widths[i]) : "  " + cell.leftPadding(widths[i])
            }
            out += line.trailingSpacesTrimmed + "\n"
            if index == 0 || index == separatorAfterRow {
                out += String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n"
            }
        }
        return out
    }

    // MARK: CSV

    static let metricColumns = ["agent_exit_status", "submitted", "cost", "tokens_sent", "tokens_received", "api_calls"]

    static func metricCells(_ m: AttemptMetrics?) -> [String] {
        [m?.exitStatus ?? "", m?.submitted.map { $0 ? "true" : "false" } ?? "", m?.cost.map { fixed($0, 6) } ?? "",
         m?.tokensSent.map(String.init) ?? "", m?.tokensReceived.map(String.init) ?? "", m?.apiCalls.map(String.init) ?? ""]
    }

    /// One row per run with its final attempt (RFC 4180).
    public static func resultsCSV(_ r: SessionReport, failedOnly: Bool = false) -> String {
        var out = csvLine(["model", "instance_id", "status", "attempts", "exit_code", "signal", "duration_s", "started_at",
                           "finished_at", "output_dir", "reason"] + metricColumns)
        for row in r.rows where !failedOnly || row.status != .succeeded {
            out += csvLine([row.model, row.instanceID, row.status.rawValue, "\(row.attempts)",
                            row.exitCode.map(String.init) ?? "", row.signal.map(String.init) ?? "",
                            row.durationMs.map(seconds) ?? "", row.startedAt.map(isoTime) ?? "",
                            row.finishedAt.map(isoTime) ?? "", row.outputDir ?? "", row.reason ?? ""]
                           + metricCells(row.metrics))
        }
        return out
    }

    /// One row per attempt.
    public static func attemptsCSV(_ state: SessionState, failedOnly: Bool = false) -> String {
        var out = csvLine(["model", "instance_id", "attempt", "outcome", "exit_code", "signal", "duration_s", "started_at",
                           "finished_at", "host", "pid", "job_id", "output_dir", "reason"] + metricColumns)
        for run in state.runs where !failedOnly || run.status != .succeeded {
            for a in run.attempts {
                out += csvLine([run.model, run.instanceID, "\(a.number)", a.outcome?.rawValue ?? "running",
                                a.ended?.exitCode.map(String.init) ?? "", a.ended?.signal.map(String.init) ?? "",
                                a.ended?.durationMs.map(seconds) ?? "", isoTime(a.startedAt),
                                a.endedAt.map(isoTime) ?? "", a.started.host, a.started.pid.map(String.init) ?? "",
                                a.started.jobID ?? "", a.started.outputDir, a.ended?.reason ?? ""]
                               + metricCells(a.metrics))
            }
        }
        return out
    }

    static func csvLine(_ cells: [String]) -> String {
        cells.map { cell in
            if cell.utf8.contains(where: { $0 == 0x2c || $0 == 0x22 || $0 == 0x0a || $0 == 0x0d }) {
                return "\"" + cell.replacingAll("\"", with: "\"\"") + "\""
            }
            return cell
        }.joined(separator: ",") + "\r\n"
    }

    // MARK: summary.json

    public static func summaryJSON(_ r: SessionReport, failedOnly: Bool = false) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.string("session", r.sessionID)
        w.int("as_of_seq", r.asOfSeq)
        w.string("first_event_at", r.firstTime.map(isoTime))
        w.string("last_event_at", r.lastTime.map(isoTime))
        w.bool("completed", r.completed)
        w.beginObject("totals")
        modelJSON(&w, r.total)
        w.endObject()
        w.beginArray("models")
        for m in r.models {
            w.beginObject()
            w.string("model", m.model)
            modelJSON(&w, m)
            w.endObject()
        }
        w.endArray()
        w.beginArray("runs")
        for row in r.rows where !failedOnly || row.status != .succeeded {
            w.beginObject()
            w.string("model", row.model)
            w.string("instance_id", row.instanceID)
            w.string("status", row.status.rawValue)
            w.int("attempts", row.attempts)
            w.int("exit_code", row.exitCode)
            w.int("signal", row.signal)
            w.number("duration_s", row.durationMs.map { Double($0) / 1000 }, places: 3)
            w.string("started_at", row.startedAt.map(isoTime))
            w.string("finished_at", row.finishedAt.map(isoTime))
            w.string("output_dir", row.outputDir)
            w.string("log", row.logPath)
            w.string("reason", row.reason)
            if let m = row.metrics {
                w.beginObject("metrics")
                w.string("format", m.format)
                w.string("file", m.file)
                w.string("exit_status", m.exitStatus)
                w.bool("submitted", m.submitted)
                w.number("cost", m.cost)
                w.int("tokens_sent", m.tokensSent)
                w.int("tokens_received", m.tokensReceived)
                w.int("api_calls", m.apiCalls)
                w.string("note", m.note)
                w.endObject()
            } else {
                w.raw("metrics", "null")
            }
            w.endObject()
        }
        w.endArray()
        w.beginArray("findings")
        for f in r.findings {
            w.beginObject()
            w.int("seq", f.seq)
            w.string("message", f.message)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.text + "\n"
    }

    static func modelJSON(_ w: inout JSONWriter, _ m: ModelSummary) {
        w.int("runs", m.runs)
        for s in statusOrder { w.int(s.rawValue, m.count(s)) }
        w.number("success_rate", m.successRate, places: 4)
        w.int("attempts", m.attempts)
        w.beginObject("duration_s")
        w.number("mean", m.meanMs.map { Double($0) / 1000 }, places: 3)
        w.number("p50", m.percentile(50).map { Double($0) / 1000 }, places: 3)
        w.number("p95", m.percentile(95).map { Double($0) / 1000 }, places: 3)
        w.number("max", m.durations.last.map { Double($0) / 1000 }, places: 3)
        w.endObject()
        w.number("cost", m.costKnown > 0 ? m.cost : nil)
        w.int("tokens_sent", m.tokensSent)
        w.int("tokens_received", m.tokensReceived)
        w.int("api_calls", m.apiCalls)
        w.int("patches_submitted", m.submitted)
        w.beginObject("agent_exit_status")
        for (k, v) in m.exitStatuses.sorted(by: { $0.key < $1.key }) { w.int(k, v) }
        w.endObject()
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    var trailingSpacesTrimmed: String {
        var s = Substring(self)
        while s.hasSuffix(" ") { s = s.dropLast() }
        return String(s)
    }
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
