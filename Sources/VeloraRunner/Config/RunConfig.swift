import Foundation
import VeloraEvents
import VeloraReplay

/// How runs are spread over time (SPEC: `mode`).
public enum Mode: String, Sendable, Equatable, CaseIterable {
    case sequential, parallel, hybrid
}

/// One model entry of the config.
public struct ModelConfig: Sendable, Equatable {
    public var name: String
    /// Every key of the entry as text (for `{model.KEY}`), `name` included.
    public var keys: [String: String]
    public var maxParallel: Int?
    public var env: [String: String]
}

public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int = 1
    public var on: Set<Outcome> = [.failed, .timedOut, .interrupted]
    public var backoffMs: UInt64 = 30_000
}

public struct SuccessRule: Sendable, Equatable {
    public var exitCodes: [Int32] = [0]
    public var require: [String] = []
}

public struct SlurmConfig: Sendable, Equatable {
    public var partition: String?
    public var cpus: Int?
    public var memory: String?
    public var extraArgs: [String] = []
    /// The job name; placeholders as in `command`. The session's nonce is always added.
    public var jobName: String = "velora-{model}-{instance_id}"
    /// How often squeue is asked (ms).
    public var pollMs: UInt64 = 2000
}

public enum ExecutorConfig: Sendable, Equatable {
    case local
    case slurm(SlurmConfig)

    public var kind: String {
        switch self {
        case .local: "local"
        case .slurm: "slurm"
        }
    }
}

/// The effective configuration of a session: the file, then flags on top.
public struct RunConfig: Sendable, Equatable {
    public var dataset: String = ""
    public var output: String = "velora-sessions"
    public var command: [String] = []
    public var models: [ModelConfig] = []
    public var mode: Mode = .parallel
    public var jobs: Int = 4
    public var timeoutMs: UInt64 = 7_200_000
    public var killGraceMs: UInt64 = 30_000
    public var retry = RetryPolicy()
    public var success = SuccessRule()
    public var env: [String: String] = [:]
    public var executor: ExecutorConfig = .local
    /// The command's working directory, absolute: the config file's folder by default.
    public var workdir: String = ""
    /// Where the config came from, for messages.
    public var source: String = "velora.json"

    public init() {}

    public static let knownKeys = ["dataset", "output", "command", "models", "mode", "jobs", "timeout", "kill_grace",
                                   "retry", "success", "env", "executor", "workdir"]

    /// Parses a config file's JSON. Relative paths are taken from `baseDir`.
    public static func parse(json: [UInt8], source: String, baseDir: String) throws(RunnerError) -> RunConfig {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json), options: [.fragmentsAllowed])
        } catch {
            throw .invalidInput("\(source): not valid JSON (\(jsonErrorDetail(error)))")
        }
        guard let dict = object as? [String: Any] else {
            throw .invalidInput("\(source): the config must be a JSON object")
        }
        var config = RunConfig()
        config.source = source
        config.workdir = baseDir
        try config.apply(dict, baseDir: baseDir)
        return config
    }

    /// Applies the keys of a config object over the current values.
    mutating func apply(_ dict: [String: Any], baseDir: String) throws(RunnerError) {
        var p = KeyPath(source: source, prefix: "")
        try p.refuseUnknown(dict, known: Self.knownKeys)
        if let v = dict["dataset"] { dataset = absolute(try p.string(v, "dataset"), base: baseDir) }
        if let v = dict["output"] { output = try p.string(v, "output") }
        if let v = dict["workdir"] { workdir = absolute(try p.string(v, "workdir"), base: baseDir) }
        if let v = dict["command"] { command = try p.stringArray(v, "command", nonEmpty: true) }
        if let v = dict["models"] { models = try Self.parseModels(v, &p) }
        if let v = dict["mode"] {
            let text = try p.string(v, "mode")
            guard let m = Mode(rawValue: text) else {
                throw p.error("mode", "must be one of sequential, parallel, hybrid; got \"\(text)\"")
            }
            mode = m
        }
        if let v = dict["jobs"] { jobs = try p.positiveInt(v, "jobs") }
        if let v = dict["timeout"] { timeoutMs = try p.duration(v, "timeout") }
        if let v = dict["kill_grace"] { killGraceMs = try p.duration(v, "kill_grace") }
        if let v = dict["retry"] {
            let r = try p.object(v, "retry")
            try p.refuseUnknown(r, known: ["max_attempts", "on", "backoff"], in: "retry")
            if let x = r["max_attempts"] { retry.maxAttempts = try p.positiveInt(x, "retry.max_attempts") }
            if let x = r["on"] {
                let names = try p.stringArray(x, "retry.on", nonEmpty: false)
                var set = Set<Outcome>()
                for name in names {
                    guard let o = Outcome(rawValue: name), o != .succeeded else {
                        throw p.error("retry.on", "unknown outcome \"\(name)\" (use failed, timed_out, interrupted)")
                    }
                    set.insert(o)
                }
                retry.on = set
            }
            if let x = r["backoff"] { retry.backoffMs = try p.duration(x, "retry.backoff") }
        }
        if let v = dict["success"] {
            let s = try p.object(v, "success")
            try p.refuseUnknown(s, known: ["exit_codes", "require"], in: "success")
            if let x = s["exit_codes"] {
                guard let list = x as? [Any], !list.isEmpty else {
                    throw p.error("success.exit_codes", "must be a non-empty array of integers")
                }
                success.exitCodes = try list.map { (item) throws(RunnerError) in Int32(try p.int(item, "success.exit_codes", range: 0...255)) }
            }
            if let x = s["require"] { success.require = try p.stringArray(x, "success.require", nonEmpty: false) }
        }
        if let v = dict["env"] { env = try p.stringMap(v, "env") }
        if let v = dict["executor"] { executor = try Self.parseExecutor(v, &p) }
    }

    static func parseModels(_ value: Any, _ p: inout KeyPath) throws(RunnerError) -> [ModelConfig] {
        guard let list = value as? [Any], !list.isEmpty else {
            throw p.error("models", "must be a non-empty array of objects with a \"name\"")
        }
        var models: [ModelConfig] = []
        var seen = Set<String>()
        for (i, item) in list.enumerated() {
            let key = "models[\(i)]"
            guard let entry = item as? [String: Any] else { throw p.error(key, "must be an object") }
            guard let nameValue = entry["name"] else { throw p.error(key, "has no \"name\"") }
            let name = try p.string(nameValue, "\(key).name")
            guard !name.isEmpty else { throw p.error("\(key).name", "must not be empty") }
            guard seen.insert(name).inserted else { throw p.error("\(key).name", "duplicate model name \"\(name)\"") }
            var model = ModelConfig(name: name, keys: [:], maxParallel: nil, env: [:])
            for (k, v) in entry where !k.hasPrefix("//") {
                switch k {
                case "max_parallel":
                    model.maxParallel = try p.positiveInt(v, "\(key).max_parallel")
                    model.keys[k] = String(model.maxParallel ?? 0)
                case "env":
                    model.env = try p.stringMap(v, "\(key).env")
                default:
                    model.keys[k] = try p.scalarText(v, "\(key).\(k)")
                }
            }
            models.append(model)
        }
        return models
    }

    static func parseExecutor(_ value: Any, _ p: inout KeyPath) throws(RunnerError) -> ExecutorConfig {
        let e = try p.object(value, "executor")
        let kind = try p.string(e["kind"] ?? "local", "executor.kind")
        switch kind {
        case "local":
            try p.refuseUnknown(e, known: ["kind"], in: "executor")
            return .local
        case "slurm":
            try p.refuseUnknown(e, known: ["kind", "partition", "cpus", "memory", "sbatch_args", "job_name", "poll"],
                                in: "executor")
            var s = SlurmConfig()
            if let v = e["partition"] { s.partition = try p.string(v, "executor.partition") }
            if let v = e["cpus"] { s.cpus = try p.positiveInt(v, "executor.cpus") }
            if let v = e["memory"] { s.memory = try p.string(v, "executor.memory") }
            if let v = e["sbatch_args"] { s.extraArgs = try p.stringArray(v, "executor.sbatch_args", nonEmpty: false) }
            if let v = e["job_name"] { s.jobName = try p.string(v, "executor.job_name") }
            if let v = e["poll"] { s.pollMs = max(200, try p.duration(v, "executor.poll")) }
            return .slurm(s)
        default:
            throw p.error("executor.kind", "must be \"local\" or \"slurm\"; got \"\(kind)\"")
        }
    }

    /// Checks what can only be checked on the whole config; call after flags are applied.
    public func validate() throws(RunnerError) {
        let p = KeyPath(source: source, prefix: "")
        guard !dataset.isEmpty else { throw p.error("dataset", "is required (in the config or --dataset)") }
        guard !command.isEmpty else { throw p.error("command", "is required (in the config or --command)") }
        guard !models.isEmpty else { throw p.error("models", "is required: at least one model with a \"name\"") }
        for (i, arg) in command.enumerated() {
            do throws(CommandTemplate.TemplateError) {
                let template = try CommandTemplate(arg)
                for key in template.modelKeys {
                    for model in models where model.keys[key] == nil {
                        throw CommandTemplate.TemplateError(message: "uses {model.\(key)}, but model \"\(model.name)\" has no \"\(key)\"")
                    }
                }
            } catch {
                throw p.error("command[\(i)]", "\(error.message) in \(arg.debugDescription)")
            }
        }
        if case let .slurm(s) = executor {
            do throws(CommandTemplate.TemplateError) {
                _ = try CommandTemplate(s.jobName)
            } catch {
                throw p.error("executor.job_name", error.message)
            }
        }
    }

    /// Keeps only the named models, in the given order.
    public mutating func selectModels(_ names: [String]) throws(RunnerError) {
        var selected: [ModelConfig] = []
        for name in names {
            guard let model = models.first(where: { $0.name == name }) else {
                throw .invalidInput("--models: unknown model \"\(name)\" (the config has: \(models.map(\.name).joined(separator: ", ")))")
            }
            if !selected.contains(where: { $0.name == name }) { selected.append(model) }
        }
        models = selected
    }

    /// The canonical JSON recorded in `sessionCreated`: sorted keys, absolute
    /// paths, secret-looking env values redacted. `parse` reads it back.
    public func canonicalJSON() -> String {
        var dict: [String: Any] = [
            "dataset": dataset, "output": output, "command": command, "mode": mode.rawValue, "jobs": jobs,
            "timeout": "\(timeoutMs)ms", "kill_grace": "\(killGraceMs)ms", "workdir": workdir,
            "retry": ["max_attempts": retry.maxAttempts, "on": retry.on.map(\.rawValue).sorted(),
                      "backoff": "\(retry.backoffMs)ms"] as [String: Any],
            "success": ["exit_codes": success.exitCodes.map(Int.init), "require": success.require] as [String: Any],
            "env": Self.redacted(env),
        ]
        dict["models"] = models.map { model -> [String: Any] in
            var entry: [String: Any] = [:]
            for (k, v) in model.keys { entry[k] = v }
            if let mp = model.maxParallel { entry["max_parallel"] = mp }
            if !model.env.isEmpty { entry["env"] = Self.redacted(model.env) }
            return entry
        }
        switch executor {
        case .local:
            dict["executor"] = ["kind": "local"]
        case let .slurm(s):
            var e: [String: Any] = ["kind": "slurm", "sbatch_args": s.extraArgs, "job_name": s.jobName,
                                    "poll": "\(s.pollMs)ms"]
            if let v = s.partition { e["partition"] = v }
            if let v = s.cpus { e["cpus"] = v }
            if let v = s.memory { e["memory"] = v }
            dict["executor"] = e
        }
        guard let data = try? JSONSerialization.data(withJSONObject: dict, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    public static let redactedValue = "<redacted>"

    /// Whether an env variable's value must not be written anywhere.
    public static func isSecret(_ name: String) -> Bool {
        let upper = name.uppercased()
        return ["KEY", "TOKEN", "SECRET", "PASSWORD"].contains { upper.contains($0) }
    }

    static func redacted(_ env: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in env { out[k] = isSecret(k) ? redactedValue : v }
        return out
    }

    /// Fills redacted env values back in (on resume): from velora's own
    /// environment, else from `original` (the config file as it is now).
    public mutating func restoreSecrets(from environment: [String: String], original: RunConfig?) throws(RunnerError) {
        func restore(_ env: inout [String: String], _ originalEnv: [String: String]?, _ key: String) throws(RunnerError) {
            for (name, value) in env where value == Self.redactedValue {
                if let v = environment[name] { env[name] = v }
                else if let v = originalEnv?[name], v != Self.redactedValue { env[name] = v }
                else {
                    throw .invalidInput("\(key).\(name) was recorded redacted; set \(name) in velora's environment to resume")
                }
            }
        }
        try restore(&env, original?.env, "env")
        for i in models.indices {
            let originalModel = original?.models.first { $0.name == models[i].name }
            try restore(&models[i].env, originalModel?.env, "models[\(i)].env")
        }
    }
}

func absolute(_ path: String, base: String) -> String {
    if path.hasPrefix("/") { return normalizePath(path) }
    return normalizePath(base + "/" + path)
}

/// Removes `.` and `..` components lexically (no symlink resolution).
func normalizePath(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
        parts.append(part)
    }
    return "/" + parts.joined(separator: "/")
}

func jsonErrorDetail(_ error: Error) -> String {
    let ns = error as NSError
    if let detail = ns.userInfo["NSDebugDescription"] as? String { return detail }
    return "\(error.localizedDescription)"
}

/// Type checks with messages that name the key.
struct KeyPath {
    let source: String
    let prefix: String

    func error(_ key: String, _ problem: String) -> RunnerError {
        .invalidInput("\(source): \"\(key)\": \(problem)")
    }

    func refuseUnknown(_ dict: [String: Any], known: [String], in parent: String? = nil) throws(RunnerError) {
        for key in dict.keys.sorted() where !known.contains(key) && !key.hasPrefix("//") {
            let full = parent.map { "\($0).\(key)" } ?? key
            let hint = known.first { editDistance($0, key) <= 2 }.map { " (did you mean \"\($0)\"?)" } ?? ""
            throw .invalidInput("\(source): unknown key \"\(full)\"\(hint)")
        }
    }

    func string(_ v: Any, _ key: String) throws(RunnerError) -> String {
        guard let s = v as? String, !(v is NSNumber) else { throw error(key, "must be a string, got \(describe(v))") }
        return s
    }

    func stringArray(_ v: Any, _ key: String, nonEmpty: Bool) throws(RunnerError) -> [String] {
        guard let list = v as? [Any] else { throw error(key, "must be an array of strings, got \(describe(v))") }
        if nonEmpty && list.isEmpty { throw error(key, "must not be empty") }
        var out: [String] = []
        for (i, item) in list.enumerated() { out.append(try string(item, "\(key)[\(i)]")) }
        return out
    }

    func object(_ v: Any, _ key: String) throws(RunnerError) -> [String: Any] {
        guard let o = v as? [String: Any] else { throw error(key, "must be an object, got \(describe(v))") }
        return o
    }

    func int(_ v: Any, _ key: String, range: ClosedRange<Int>) throws(RunnerError) -> Int {
        guard let n = v as? NSNumber, !isJSONBoolean(n), let i = Int(exactly: n.doubleValue), range.contains(i) else {
            throw error(key, "must be an integer in \(range.lowerBound)...\(range.upperBound), got \(describe(v))")
        }
        return i
    }

    func positiveInt(_ v: Any, _ key: String) throws(RunnerError) -> Int {
        guard let n = v as? NSNumber, !isJSONBoolean(n), let i = Int(exactly: n.doubleValue), i > 0 else {
            throw error(key, "must be a positive integer, got \(describe(v))")
        }
        return i
    }

    func duration(_ v: Any, _ key: String) throws(RunnerError) -> UInt64 {
        if let n = v as? NSNumber, !isJSONBoolean(n), n.doubleValue >= 0 { return UInt64(n.doubleValue * 1000) }
        if let s = v as? String, let ms = DurationParser.milliseconds(s) { return ms }
        throw error(key, "must be a duration like \"90s\", \"30m\", \"2h\", \"1h30m\" or seconds, got \(describe(v))")
    }

    func stringMap(_ v: Any, _ key: String) throws(RunnerError) -> [String: String] {
        let o = try object(v, key)
        var out: [String: String] = [:]
        for (k, value) in o {
            guard !k.isEmpty, !k.contains("="), !k.contains("\u{0}") else { throw error("\(key).\(k)", "is not a valid variable name") }
            out[k] = try string(value, "\(key).\(k)")
        }
        return out
    }

    func scalarText(_ v: Any, _ key: String) throws(RunnerError) -> String {
        if let s = v as? String, !(v is NSNumber) { return s }
        if let n = v as? NSNumber { return isJSONBoolean(n) ? (n.boolValue ? "true" : "false") : "\(n)" }
        throw error(key, "must be a string, number or boolean, got \(describe(v))")
    }


    func describe(_ v: Any) -> String {
        switch v {
        case is NSNull: return "null"
        case let n as NSNumber: return isJSONBoolean(n) ? "a boolean" : "the number \(n)"
        case let s as String: return "the string \(s.debugDescription)"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return "\(type(of: v))"
        }
    }
}

/// Levenshtein distance, for "did you mean" hints.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
