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
        let problemCount = r.rows.reduce(0) { $0 + ($1.status != .succeeded ? 1 : 0) }
        if problemCount > 0 {
            out += "\nnot succeeded (\(problemCount)):\n"
            var b = ReportBuffer(capacity: problemCount * 120)
            for row in r.rows where row.status != .succeeded {
                b.add("  "); b.add(label(row.status).padding(11)); b.add(byte: 0x20)
                b.add(row.model); b.add(byte: 0x2f); b.add(row.instanceID)
                b.add("  attempts "); b.add(row.attempts)
                if let reason = row.reason { b.add("  "); b.add(reason) }
                if let log = row.logPath { b.add("\n              log: "); b.add(log) }
                b.add(byte: 0x0a)
            }
            out += b.string
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

    static func metricCells(_ b: inout ReportBuffer, _ m: AttemptMetrics?) {
        b.add(byte: 0x2c)
        if let status = m?.exitStatus { b.add(csvCell: status) }
        b.add(byte: 0x2c)
        if let submitted = m?.submitted { b.add(submitted ? "true" : "false") }
        b.add(byte: 0x2c)
        if let cost = m?.cost { b.add(csvCell: fixed(cost, 6)) }
        b.add(byte: 0x2c)
        if let n = m?.tokensSent { b.add(n) }
        b.add(byte: 0x2c)
        if let n = m?.tokensReceived { b.add(n) }
        b.add(byte: 0x2c)
        if let n = m?.apiCalls { b.add(n) }
        b.add("\r\n")
    }

    /// One row per run with its final attempt (RFC 4180).
    public static func resultsCSV(_ r: SessionReport, failedOnly: Bool = false) -> String {
        rendered(capacity: 256 + r.rows.count * 128) { resultsCSV(r, failedOnly: failedOnly, into: &$0) }
    }

    static func resultsCSV(_ r: SessionReport, failedOnly: Bool, into b: inout ReportBuffer) {
        b.add(csvLine: ["model", "instance_id", "status", "attempts", "exit_code", "signal", "duration_s", "started_at",
                        "finished_at", "output_dir", "reason"] + metricColumns)
        for row in r.rows where !failedOnly || row.status != .succeeded {
            b.add(csvCell: row.model); b.add(byte: 0x2c)
            b.add(csvCell: row.instanceID); b.add(byte: 0x2c)
            b.add(row.status.rawValue); b.add(byte: 0x2c)
            b.add(row.attempts); b.add(byte: 0x2c)
            if let v = row.exitCode { b.add(v) }
            b.add(byte: 0x2c)
            if let v = row.signal { b.add(v) }
            b.add(byte: 0x2c)
            if let v = row.durationMs { b.add(seconds: v) }
            b.add(byte: 0x2c)
            if let v = row.startedAt { b.add(isoTime: v) }
            b.add(byte: 0x2c)
            if let v = row.finishedAt { b.add(isoTime: v) }
            b.add(byte: 0x2c)
            if let v = row.outputDir { b.add(csvCell: v) }
            b.add(byte: 0x2c)
            if let v = row.reason { b.add(csvCell: v) }
            metricCells(&b, row.metrics)
            b.flushIfLarge()
        }
    }

    /// One row per attempt.
    public static func attemptsCSV(_ state: SessionState, failedOnly: Bool = false) -> String {
        rendered(capacity: 256 + state.runs.count * 160) { attemptsCSV(state, failedOnly: failedOnly, into: &$0) }
    }

    static func attemptsCSV(_ state: SessionState, failedOnly: Bool, into b: inout ReportBuffer) {
        b.add(csvLine: ["model", "instance_id", "attempt", "outcome", "exit_code", "signal", "duration_s", "started_at",
                        "finished_at", "host", "pid", "job_id", "output_dir", "reason"] + metricColumns)
        for run in state.runs where !failedOnly || run.status != .succeeded {
            for a in run.attempts {
                b.add(csvCell: run.model); b.add(byte: 0x2c)
                b.add(csvCell: run.instanceID); b.add(byte: 0x2c)
                b.add(a.number); b.add(byte: 0x2c)
                b.add(a.outcome?.rawValue ?? "running"); b.add(byte: 0x2c)
                if let v = a.ended?.exitCode { b.add(v) }
                b.add(byte: 0x2c)
                if let v = a.ended?.signal { b.add(v) }
                b.add(byte: 0x2c)
                if let v = a.ended?.durationMs { b.add(seconds: v) }
                b.add(byte: 0x2c)
                b.add(isoTime: a.startedAt); b.add(byte: 0x2c)
                if let v = a.endedAt { b.add(isoTime: v) }
                b.add(byte: 0x2c)
                b.add(csvCell: a.started.host); b.add(byte: 0x2c)
                if let v = a.started.pid { b.add(v) }
                b.add(byte: 0x2c)
                if let v = a.started.jobID { b.add(csvCell: v) }
                b.add(byte: 0x2c)
                b.add(csvCell: a.started.outputDir); b.add(byte: 0x2c)
                if let v = a.ended?.reason { b.add(csvCell: v) }
                metricCells(&b, a.metrics)
            }
            b.flushIfLarge()
        }
    }

    /// A report rendered whole in memory, as a string (`velora report` streams its files instead).
    static func rendered(capacity: Int, _ render: (inout ReportBuffer) -> Void) -> String {
        var b = ReportBuffer(capacity: capacity)
        render(&b)
        return b.string
    }

    // MARK: summary.json

    public static func summaryJSON(_ r: SessionReport, failedOnly: Bool = false) -> String {
        rendered(capacity: 1024 + r.rows.count * 400) { summaryJSON(r, failedOnly: failedOnly, into: &$0) }
    }

    static func summaryJSON(_ r: SessionReport, failedOnly: Bool, into b: inout ReportBuffer) {
        var w = JSONWriter(buffer: b)
        defer { b = w.buffer }
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
            w.time("started_at", row.startedAt)
            w.time("finished_at", row.finishedAt)
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
            w.buffer.flushIfLarge()
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
        w.buffer.add(byte: 0x0a)
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
    /// Replaces every `target` scalar (by scalar: a quote followed by a combining
    /// mark is still a quote to a CSV reader).
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var out = ""
        for u in unicodeScalars { if u == target { out += replacement } else { out.unicodeScalars.append(u) } }
        return out
    }
}
