import Foundation
import VeloraEvents
import VeloraReplay
import VeloraRunner

/// Options shared by the commands that read sessions.
let outputOption = OptionSpec("output", value: "DIR",
                              help: "the folder holding sessions (default: \"output\" of ./velora.json, else ./velora-sessions)")

/// The sessions folder: --output, else the config in the current folder, else ./velora-sessions.
func sessionsFolder(_ args: ParsedArguments, _ console: Console) -> String {
    if let out = args.value("output") { return absolutePath(out, base: console.cwd) }
    let configPath = console.cwd + "/velora.json"
    if let bytes = try? readWholeFile(configPath),
       let config = try? RunConfig.parse(json: bytes, source: configPath, baseDir: console.cwd) {
        return absolutePath(config.output, base: console.cwd)
    }
    return console.cwd + "/velora-sessions"
}

func absolutePath(_ path: String, base: String) -> String {
    path.hasPrefix("/") ? path : base + "/" + path
}

struct RunCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "run",
        summary: "creates a session and runs it to the end",
        options: [
            OptionSpec("config", value: "FILE", help: "the config file (default ./velora.json when present)"),
            OptionSpec("models", value: "LIST", help: "run only these models of the config, e.g. opus,qwen"),
            OptionSpec("session", value: "NAME", help: "name the session folder instead of a generated id"),
        ] + RunConfig.flagHelp.map { OptionSpec($0.0, value: $0.1, repeatable: $0.2, help: $0.3) },
        trailing: "COMMAND ARGS...",
        details: """
        Every config field is also a flag; flags win over the file. Relative paths in the
        config are taken from the config file's folder, relative paths in flags from the
        current folder. Exit codes: 0 all runs succeeded, 1 some failed or timed out,
        2 bad input (nothing written), 3 session locked, 130 interrupted (resumable).
        """)

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let config = try loadConfig(args, console)
        try config.validate()
        // Rows wait in a scratch file (unlinked at once) on the output's disk, not in memory.
        let dataset = try Dataset.load(path: config.dataset, spillingInto: existingAncestor(config.output))
        let executor = try makeExecutor(config)
        let wall = wallMillis()
        let created = try SessionStore.create(config: config, dataset: dataset, sessionName: args.value("session"), wall: wall)
        console.err("velora: session \(created.id) in \(created.layout.root)\n")
        return try runSession(layout: created.layout, lock: created.lock, writer: created.writer,
                              config: config, dataset: dataset, executor: executor, command: "run", console: console)
    }

    /// The config file (if any) with flags on top, `--models` applied.
    static func loadConfig(_ args: ParsedArguments, _ console: Console) throws -> RunConfig {
        var config = RunConfig()
        config.workdir = console.cwd
        config.source = "flags"
        var configPath = args.value("config").map { absolutePath($0, base: console.cwd) }
        if configPath == nil, fileExists(console.cwd + "/velora.json") { configPath = console.cwd + "/velora.json" }
        if let configPath {
            guard fileExists(configPath) else { throw RunnerError.invalidInput("--config: \(configPath): no such file") }
            let bytes = try readWholeFile(configPath)
            let base = parentDirectory(configPath)
            config = try RunConfig.parse(json: bytes, source: configPath, baseDir: base)
            config.output = absolutePath(config.output, base: base)
        } else {
            config.output = absolutePath(config.output, base: console.cwd)
        }
        let values = args.values
        if !args.trailing.isEmpty {
            if values["command"] != nil { throw RunnerError.invalidInput("--command: give the command either with --command or after --, not both") }
            config.command = args.trailing
        }
        try config.applyFlags(values, cwd: console.cwd)
        if let subset = args.value("models") {
            try config.selectModels(subset.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
        }
        return config
    }

    static func makeExecutor(_ config: RunConfig) throws -> Executor {
        switch config.executor {
        case .local: return LocalExecutor(host: hostName())
        case let .slurm(s): return try SlurmExecutor(config: s, host: hostName(), timeoutMs: config.timeoutMs)
        }
    }
}

/// Runs a session with the progress display; prints the summary and report paths.
/// The session's state is folded here and handed to the runner alone: a copy kept by
/// a caller would be duplicated (copy on write) at the runner's first change.
func runSession(layout: SessionLayout, lock: SessionLock, writer: LogWriter, config: RunConfig,
                dataset: Dataset, executor: Executor, command: String, console: Console) throws -> Int32 {
    let runner = try SessionRunner(layout: layout, lock: lock, writer: writer, state: SessionStore.load(layout).state,
                                   config: config, dataset: dataset, executor: executor, observer: nil,
                                   environment: console.environment)
    let display = ProgressDisplay(console: console, state: runner.state)
    runner.observer = display
    let code = try runner.run(command: command)
    // The runner's state is the fold of the log it read and every event it wrote (the
    // scheduler changes its state only by applying events): no second fold in memory.
    let final = runner.state
    display.finish(final)
    try writeReports(state: final, layout: layout)
    if final.completed {
        // A finished session's log is kept compressed; a later writer restores it.
        try? LogWriter.compress(path: layout.logPath)
    }
    console.err(Summary.text(final) + "reports: \(layout.reportsDir)\n")
    if code == ExitCode.interrupted {
        console.err("velora: interrupted; continue with: velora resume \(layout.root)\n")
    }
    return code
}
