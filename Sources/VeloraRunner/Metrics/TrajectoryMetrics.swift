import Foundation
import VeloraEvents

/// Reads what an agent's trajectory says about an attempt: exit status,
/// submission, cost, tokens, API calls. Agents disagree on what they write and
/// files are sometimes odd or broken: whatever is there is recorded, and an
/// unreadable file becomes a note, never a failed run.
public enum TrajectoryMetrics {
    /// The trajectory kinds velora knows, by file name.
    public static func format(ofFile name: String) -> String? {
        if name.hasSuffix(".traj.json") { return "mini-swe-agent" }
        if name.hasSuffix(".traj") { return "swe-agent" }
        if name == "output.jsonl" { return "openhands" }
        return nil
    }

    /// Finds a trajectory in `outputDir` (up to 3 folders deep) and extracts its metrics.
    public static func extract(outputDir: String, run: RunIndex, attempt: UInt32) -> AttemptMetrics? {
        guard let relative = findTrajectory(in: outputDir), let format = format(ofFile: lastComponent(relative)) else {
            return nil
        }
        var metrics = AttemptMetrics(run: run, attempt: attempt, format: format, file: relative)
        guard let data = FileManager.default.contents(atPath: outputDir + "/" + relative) else {
            metrics.note = "trajectory could not be read"
            return metrics
        }
        fill(&metrics, format: format, data: data)
        return metrics
    }

    static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    static func findTrajectory(in dir: String, depth: Int = 0, prefix: String = "") -> String? {
        guard let names = entries(of: dir) else { return nil }
        var subdirs: [String] = []
        for name in names.sorted() {
            // stat follows symbolic links, as FileManager's fileExists(atPath:isDirectory:) did.
            var st = stat()
            guard stat(dir + "/" + name, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR { subdirs.append(name); continue }
            if format(ofFile: name) != nil { return prefix + name }
        }
        guard depth < 3 else { return nil }
        for sub in subdirs {
            if let found = findTrajectory(in: dir + "/" + sub, depth: depth + 1, prefix: prefix + sub + "/") { return found }
        }
        return nil
    }

    /// The names in a folder but `.` and `..` (readdir: this runs after every attempt,
    /// and FileManager's listing cost more than the rest of the attempt's clean-up).
    static func entries(of dir: String) -> [String]? {
        guard let handle = opendir(dir) else { return nil }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Fills `metrics` from a trajectory's bytes.
    public static func fill(_ metrics: inout AttemptMetrics, format: String, data: Data) {
        switch format {
        case "openhands":
            // One JSON object per line; the last whole line is the instance's record.
            let lines = data.split(separator: 0x0a).filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x0d } }
            guard let last = lines.last, let record = try? JSONSerialization.jsonObject(with: Data(last)) as? [String: Any] else {
                metrics.note = "output.jsonl has no readable JSON record"
                return
            }
            if let error = record["error"] as? String, !error.isEmpty {
                metrics.exitStatus = "error: " + (error.split(separator: "\n").first.map(String.init) ?? error)
            } else {
                metrics.exitStatus = "finished"
            }
            if let testResult = record["test_result"] as? [String: Any], let patch = testResult["git_patch"] as? String {
                setSubmission(&metrics, patch)
            }
            if let m = record["metrics"] as? [String: Any] {
                metrics.cost = number(m["accumulated_cost"])
                if let usage = m["accumulated_token_usage"] as? [String: Any] {
                    metrics.tokensSent = uint(usage["prompt_tokens"])
                    metrics.tokensReceived = uint(usage["completion_tokens"])
                }
                // One entry per LLM call; some versions leave `costs` empty and fill `token_usages`.
                let costs = (m["costs"] as? [Any]) ?? []
                let usages = (m["token_usages"] as? [Any]) ?? []
                if !costs.isEmpty { metrics.apiCalls = UInt64(costs.count) }
                else if !usages.isEmpty { metrics.apiCalls = UInt64(usages.count) }
            }
            if metrics.apiCalls == nil, let history = record["history"] as? [Any] {
                let calls = history.filter { ($0 as? [String: Any])?["source"] as? String == "agent" }.count
                if calls > 0 { metrics.apiCalls = UInt64(calls) }
            }
        default:
            guard let object = try? JSONSerialization.jsonObject(with: data) else {
                metrics.note = "trajectory is not valid JSON"
                return
            }
            guard let root = object as? [String: Any] else {
                if let messages = object as? [Any] {
                    metrics.note = "trajectory is a bare list of \(messages.count) messages, without info"
                } else {
                    metrics.note = "trajectory is not a JSON object"
                }
                return
            }
            guard let info = root["info"] as? [String: Any] else {
                metrics.note = "trajectory has no \"info\" (keys: \(root.keys.sorted().joined(separator: ", ")))"
                return
            }
            metrics.exitStatus = info["exit_status"] as? String
            if let submission = info["submission"] as? String { setSubmission(&metrics, submission) }
            else if info["submission"] is NSNull { metrics.submitted = false }
            if let stats = info["model_stats"] as? [String: Any] {
                metrics.cost = number(stats["instance_cost"]) ?? number(stats["total_cost"])
                metrics.tokensSent = uint(stats["tokens_sent"])
                metrics.tokensReceived = uint(stats["tokens_received"])
                metrics.apiCalls = uint(stats["api_calls"])
            }
        }
    }

    static func setSubmission(_ metrics: inout AttemptMetrics, _ text: String) {
        metrics.submissionBytes = UInt64(text.utf8.count)
        metrics.submitted = !text.allSatisfy(\.isWhitespace)
    }

    static func number(_ value: Any?) -> Double? {
        guard let n = value as? NSNumber, !isJSONBoolean(n) else { return nil }
        return n.doubleValue
    }

    static func uint(_ value: Any?) -> UInt64? {
        guard let d = number(value), d >= 0, d < 1e19 else { return nil }
        return UInt64(d)
    }
}
