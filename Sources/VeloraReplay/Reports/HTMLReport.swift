/// `report.html`: one self-contained file (inline CSS and SVG, no scripts, no
/// network) with per-model outcome bars, a duration histogram and a
/// model x instance matrix whose cells link to each final attempt's folder and log.
extension ReportRenderer {
    static let colors: [RunStatus: String] = [
        .succeeded: "#2e9e4f", .failed: "#d64545", .timedOut: "#e08a1e", .interrupted: "#8a63c9",
        .running: "#3b82c4", .retrying: "#d6b945", .queued: "#b9bec7",
    ]

    /// `sessionLink` is how the report's folder reaches the session folder ("../" for reports/).
    public static func html(_ r: SessionReport, sessionLink: String = "../") -> String {
        rendered(capacity: 16 * 1024 + r.rows.count * 260) { html(r, sessionLink: sessionLink, into: &$0) }
    }

    static func html(_ r: SessionReport, sessionLink: String, into b: inout ReportBuffer) {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>velora report \(escape(r.sessionID))</title>
        <style>
        body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d2330}
        h1{font-size:20px} h2{font-size:16px;margin-top:28px}
        table{border-collapse:collapse;font-size:13px}
        th,td{padding:3px 8px;border-bottom:1px solid #e3e6eb;text-align:right}
        th:first-child,td:first-child{text-align:left}
        .legend span{display:inline-block;margin-right:14px;font-size:13px}
        .sw{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:middle}
        .matrix td{padding:0;border:1px solid #fff}
        .matrix td a{display:block;width:18px;height:18px}
        .matrix th{font-weight:normal;font-size:12px;padding:2px 6px}
        .matrix td.id{font-size:12px;padding:0 8px 0 0;white-space:nowrap;border:none}
        </style></head><body>
        <h1>velora report — session \(escape(r.sessionID))</h1>
        <p>as of event #\(r.asOfSeq)\(r.lastTime.map { " (" + isoTime($0) + ")" } ?? "") —
        \(r.completed ? "session completed" : "session not completed")</p>

        """
        h += "<div class=\"legend\">"
        for s in statusOrder {
            h += "<span><i class=\"sw\" style=\"background:\(colors[s] ?? "#999")\"></i>\(label(s))</span>"
        }
        h += "</div>\n"

        // Outcome bars per model.
        h += "<h2>Outcomes per model</h2>\n"
        let barWidth = 600
        let rowHeight = 26
        h += "<svg width=\"\(barWidth + 160)\" height=\"\(r.models.count * rowHeight + 10)\" role=\"img\" aria-label=\"outcomes per model\">\n"
        for (i, m) in r.models.enumerated() {
            let y = i * rowHeight + 4
            h += "<text x=\"0\" y=\"\(y + 15)\" font-size=\"13\">\(escape(m.model))</text>\n"
            var x = 0
            for s in statusOrder where m.count(s) > 0 {
                let w = m.runs == 0 ? 0 : m.count(s) * barWidth / m.runs
                h += "<rect class=\"bar\" data-status=\"\(s.rawValue)\" x=\"\(110 + x)\" y=\"\(y)\" width=\"\(max(w, 1))\" height=\"20\" fill=\"\(colors[s] ?? "#999")\"><title>\(escape(m.model)): \(m.count(s)) \(label(s))</title></rect>\n"
                x += w
            }
            h += "<text x=\"\(110 + barWidth + 8)\" y=\"\(y + 15)\" font-size=\"12\">\(m.count(.succeeded))/\(m.runs) ok</text>\n"
        }
        h += "</svg>\n"

        // Table.
        h += "<h2>Summary</h2>\n<table><tr><th>model</th><th>runs</th><th>success</th>"
        for s in statusOrder { h += "<th>\(label(s))</th>" }
        h += "<th>attempts</th><th>p50</th><th>p95</th><th>cost</th><th>api calls</th></tr>\n"
        for m in r.models + [r.total] {
            h += "<tr><td>\(escape(m.model))</td><td>\(m.runs)</td><td>\(fixed(m.successRate * 100, 1))%</td>"
            for s in statusOrder { h += "<td>\(m.count(s))</td>" }
            h += "<td>\(m.attempts)</td><td>\(m.percentile(50).map(humanDuration) ?? "-")</td>"
            h += "<td>\(m.percentile(95).map(humanDuration) ?? "-")</td>"
            h += "<td>\(m.costKnown > 0 ? "$" + fixed(m.cost, 2) : "-")</td><td>\(m.withMetrics > 0 ? "\(m.apiCalls)" : "-")</td></tr>\n"
        }
        h += "</table>\n"

        // Duration histogram over all finished attempts.
        h += "<h2>Attempt durations</h2>\n"
        h += histogram(r.total.durations)

        b.add(h)

        // Matrix. Cells are written straight into bytes: a session may have 250,000 of them.
        b.add("<h2>Runs: instance × model</h2>\n<table class=\"matrix\"><tr><th></th>")
        for m in r.models { b.add("<th>"); b.add(html: m.model); b.add("</th>") }
        b.add("</tr>\n")
        var modelPosition: [String: Int] = [:]
        for (i, m) in r.models.enumerated() { modelPosition[m.model] = i }
        var instancePosition: [String: Int] = [:]
        var order: [String] = []
        // grid[instance * models + model]: the index of its row in r.rows, or -1.
        var grid: [Int] = []
        for (index, row) in r.rows.enumerated() {
            let ip: Int
            if let known = instancePosition[row.instanceID] {
                ip = known
            } else {
                ip = order.count
                instancePosition[row.instanceID] = ip
                order.append(row.instanceID)
                grid.append(contentsOf: repeatElement(-1, count: r.models.count))
            }
            if let mp = modelPosition[row.model] { grid[ip * r.models.count + mp] = index }
        }
        for (ip, id) in order.enumerated() {
            b.add("<tr><td class=\"id\">"); b.add(html: id); b.add("</td>")
            for (mp, m) in r.models.enumerated() {
                let index = grid[ip * r.models.count + mp]
                guard index >= 0 else { b.add("<td></td>"); continue }
                let row = r.rows[index]
                b.add("<td class=\"cell\" data-status=\""); b.add(row.status.rawValue)
                b.add("\" style=\"background:"); b.add(colors[row.status] ?? "#999"); b.add("\">")
                if let outputDir = row.outputDir {
                    // escapePath leaves nothing HTML would need escaped.
                    b.add("<a href=\""); b.add(escapePath(sessionLink + outputDir)); b.add("/\" title=\"")
                } else {
                    b.add("<a title=\"")
                }
                // The title, escaped piece by piece (each user piece sits between constant ASCII).
                b.add(html: m.model); b.add(" / "); b.add(html: id); b.add(": "); b.add(label(row.status))
                if row.attempts > 0 { b.add(", "); b.add(row.attempts); b.add(" attempt(s)") }
                if let reason = row.reason { b.add(" — "); b.add(html: reason) }
                if let log = row.logPath { b.add(" — log: "); b.add(html: log) }
                b.add("\"></a></td>")
            }
            b.add("</tr>\n")
            b.flushIfLarge()
        }
        b.add("</table>\n")

        let problems = r.rows.filter { $0.status != .succeeded && $0.status != .queued }
        if !problems.isEmpty {
            b.add("<h2>Not succeeded</h2>\n<table><tr><th>run</th><th>status</th><th>attempts</th><th>reason</th><th>log</th></tr>\n")
            for row in problems {
                b.add("<tr><td>"); b.add(html: row.model); b.add("/"); b.add(html: row.instanceID); b.add("</td><td>")
                b.add(label(row.status)); b.add("</td><td>"); b.add(row.attempts); b.add("</td>")
                b.add("<td style=\"text-align:left\">"); b.add(html: row.reason ?? ""); b.add("</td><td>")
                if let log = row.logPath {
                    b.add("<a class=\"log\" href=\""); b.add(escapePath(sessionLink + log)); b.add("\">output.log.gz</a>")
                }
                b.add("</td></tr>\n")
            }
            b.add("</table>\n")
        }
        b.add("</body></html>\n")
    }

    static func histogram(_ durations: [UInt64]) -> String {
        guard let maxD = durations.last, maxD > 0 else { return "<p>no finished attempts yet</p>\n" }
        let buckets = 20
        var counts = [Int](repeating: 0, count: buckets)
        for d in durations { counts[min(buckets - 1, Int(d * UInt64(buckets) / (maxD + 1)))] += 1 }
        let top = counts.max() ?? 1
        let width = 30, height = 120
        var s = "<svg width=\"\(buckets * width + 60)\" height=\"\(height + 40)\" role=\"img\" aria-label=\"duration histogram\">\n"
        for (i, c) in counts.enumerated() {
            let h = top == 0 ? 0 : c * height / top
            s += "<rect class=\"hist\" x=\"\(i * width + 40)\" y=\"\(height - h + 5)\" width=\"\(width - 3)\" height=\"\(h)\" fill=\"#3b82c4\"><title>\(c) attempts</title></rect>\n"
        }
        s += "<text x=\"40\" y=\"\(height + 25)\" font-size=\"12\">0s</text>"
        s += "<text x=\"\(buckets * width + 10)\" y=\"\(height + 25)\" font-size=\"12\" text-anchor=\"end\">\(humanDuration(maxD))</text>"
        s += "<text x=\"0\" y=\"15\" font-size=\"12\">\(top)</text>\n</svg>\n"
        return s
    }

    /// Escapes by Unicode scalar, not by Character: a `"` followed by a combining
    /// mark is one Character that is not `"`, and must be escaped all the same.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// A path as a URL path: every byte but unreserved ones and `/` percent-encoded
    /// (folder names hold `%XX` escapes themselves; a session path may hold `#` or `?`).
    static func escapePath(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xf)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
