import Foundation
import VeloraReplay

extension RunConfig {
    /// The `velora run` flags that set config fields, as (flag, value placeholder, help).
    public static let flagHelp: [(String, String?, Bool, String)] = [
        ("dataset", "FILE", false, "the dataset: .jsonl or .json, optionally .gz"),
        ("output", "DIR", false, "where session folders are created (default velora-sessions)"),
        ("command", "JSON", false, "the command as a JSON array of strings (or give it after --)"),
        ("model", "SPEC", true, "a model as key=value pairs: name=opus,llm=anthropic/claude-opus-4-6,max_parallel=4"),
        ("mode", "MODE", false, "sequential, parallel (default) or hybrid"),
        ("jobs", "N", false, "attempts running at once (default 4)"),
        ("timeout", "DURATION", false, "per-attempt time limit, e.g. 2h, 30m, 1h30m, 90s (default 2h; 0: none)"),
        ("kill-grace", "DURATION", false, "time between SIGTERM and SIGKILL (default 30s)"),
        ("max-attempts", "N", false, "attempts per run, retries included (default 1)"),
        ("retry-on", "LIST", false, "outcomes that are retried: failed,timed_out,interrupted"),
        ("backoff", "DURATION", false, "wait before a retry (default 30s)"),
        ("exit-codes", "LIST", false, "exit codes that count as success (default 0)"),
        ("require", "GLOB", true, "a file the attempt must leave in its output folder (non-empty)"),
        ("env", "NAME=VALUE", true, "an environment variable for the command"),
        ("workdir", "DIR", false, "the command's working directory (default: the config file's folder)"),
        ("executor", "KIND", false, "local (default) or slurm"),
        ("slurm-partition", "NAME", false, "Slurm partition"),
        ("slurm-cpus", "N", false, "CPUs per Slurm job"),
        ("slurm-memory", "SIZE", false, "memory per Slurm job, e.g. 4G"),
        ("sbatch-arg", "ARG", true, "an extra argument passed to sbatch"),
        ("slurm-job-name", "PATTERN", false, "Slurm job name, with placeholders (default velora-{model}-{instance_id})"),
    ]

    /// Applies `velora run` flags over the config; relative paths are from `cwd`.
    public mutating func applyFlags(_ values: [String: [String]], cwd: String) throws(RunnerError) {
        func bad(_ flag: String, _ problem: String) -> RunnerError { .invalidInput("--\(flag): \(problem)") }
        func last(_ flag: String) -> String? { values[flag]?.last }
        func duration(_ flag: String) throws(RunnerError) -> UInt64? {
            guard let text = last(flag) else { return nil }
            guard let ms = DurationParser.milliseconds(text) else {
                throw bad(flag, "\(text.debugDescription) is not a duration (like 90s, 30m, 2h, 1h30m)")
            }
            return ms
        }
        func positive(_ flag: String) throws(RunnerError) -> Int? {
            guard let text = last(flag) else { return nil }
            guard let n = Int(text), n > 0 else { throw bad(flag, "must be a positive integer, got \(text.debugDescription)") }
            return n
        }
        if let v = last("dataset") { dataset = absolute(v, base: cwd) }
        if let v = last("output") { output = absolute(v, base: cwd) }
        if let v = last("workdir") { workdir = absolute(v, base: cwd) }
        if let v = last("command") {
            guard let list = try? JSONSerialization.jsonObject(with: Data(v.utf8)) as? [String], !list.isEmpty else {
                throw bad("command", "must be a non-empty JSON array of strings, e.g. '[\"python\", \"agent.py\"]'")
            }
            command = list
        }
        if let specs = values["model"] {
            var parsed: [ModelConfig] = []
            for spec in specs {
                var model = ModelConfig(name: "", keys: [:], maxParallel: nil, env: [:])
                for pair in spec.split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard kv.count == 2, !kv[0].isEmpty else { throw bad("model", "\(spec.debugDescription): expected key=value pairs") }
                    if kv[0] == "max_parallel" {
                        guard let n = Int(kv[1]), n > 0 else { throw bad("model", "max_parallel must be a positive integer") }
                        model.maxParallel = n
                    }
                    model.keys[kv[0]] = kv[1]
                }
                guard let name = model.keys["name"], !name.isEmpty else { throw bad("model", "\(spec.debugDescription) has no name=") }
                guard !parsed.contains(where: { $0.name == name }) else { throw bad("model", "duplicate model name \"\(name)\"") }
                model.name = name
                parsed.append(model)
            }
            models = parsed
        }
        if let v = last("mode") {
            guard let m = Mode(rawValue: v) else { throw bad("mode", "must be sequential, parallel or hybrid; got \(v.debugDescription)") }
            mode = m
        }
        if let n = try positive("jobs") { jobs = n }
        if let ms = try duration("timeout") { timeoutMs = ms }
        if let ms = try duration("kill-grace") { killGraceMs = ms }
        if let n = try positive("max-attempts") { retry.maxAttempts = n }
        if let v = last("retry-on") {
            var set = Set<Outcome>()
            for name in v.split(separator: ",").map(String.init) {
                guard let o = Outcome(rawValue: name), o != .succeeded else {
                    throw bad("retry-on", "unknown outcome \(name.debugDescription) (use failed, timed_out, interrupted)")
                }
                set.insert(o)
            }
            retry.on = set
        }
        if let ms = try duration("backoff") { retry.backoffMs = ms }
        if let v = last("exit-codes") {
            var codes: [Int32] = []
            for part in v.split(separator: ",") {
                guard let c = Int32(part), (0...255).contains(c) else { throw bad("exit-codes", "\(String(part).debugDescription) is not an exit code 0...255") }
                codes.append(c)
            }
            guard !codes.isEmpty else { throw bad("exit-codes", "must list at least one exit code") }
            success.exitCodes = codes
        }
        if let globs = values["require"] { success.require = globs }
        for pair in values["env"] ?? [] {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, !kv[0].isEmpty else { throw bad("env", "\(pair.debugDescription): expected NAME=VALUE") }
            env[kv[0]] = kv[1]
        }
        var slurm: SlurmConfig? = { if case let .slurm(s) = executor { return s } else { return nil } }()
        if let kind = last("executor") {
            switch kind {
            case "local": slurm = nil
            case "slurm": slurm = slurm ?? SlurmConfig()
            default: throw bad("executor", "must be local or slurm; got \(kind.debugDescription)")
            }
        }
        let slurmFlags = ["slurm-partition", "slurm-cpus", "slurm-memory", "sbatch-arg", "slurm-job-name"]
        if slurm == nil, let used = slurmFlags.first(where: { values[$0] != nil }) {
            throw bad(used, "only applies with --executor slurm")
        }
        if var s = slurm {
            if let v = last("slurm-partition") { s.partition = v }
            if let n = try positive("slurm-cpus") { s.cpus = n }
            if let v = last("slurm-memory") { s.memory = v }
            if let v = values["sbatch-arg"] { s.extraArgs = v }
            if let v = last("slurm-job-name") { s.jobName = v }
            executor = .slurm(s)
        } else {
            executor = .local
        }
    }
}
