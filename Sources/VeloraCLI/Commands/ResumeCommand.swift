import Foundation
import VeloraEvents
import VeloraReplay
import VeloraRunner

struct ResumeCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "resume",
        summary: "continues a stopped or crashed session",
        options: [
            OptionSpec("dry-run", help: "print the plan (what would be interrupted and started) and change nothing"),
            outputOption,
        ],
        positionals: [PositionalSpec("SESSION", help: "a session id (under --output) or a session folder")],
        details: """
        The session's state is rebuilt by replaying its log. Attempts that were running when
        the previous runner died are recorded as interrupted (after their leftover processes
        are killed) and retried under the session's retry policy; on Slurm, jobs that are still
        running are re-attached and jobs that ended get their real outcome. No succeeded run
        runs again.
        Secret env values were recorded redacted: export them in velora's environment.
        """)

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let layout = try SessionStore.locate(args.positionals["SESSION"], output: sessionsFolder(args, console))
        let name = lastPathComponent(layout.root)
        if args.flag("dry-run") {
            let (state, _) = try SessionStore.load(layout)
            let config = try SessionStore.recordedConfig(state)
            console.out(ResumePlan(state: state, policy: SchedulePolicy(config: config)).text)
            return ExitCode.success
        }
        let lock = try SessionLock(layout: layout, sessionName: name)
        let (config, finished) = try prepare(layout, name: name, console: console)
        if let finished { return finished }
        let dataset = try Dataset.load(path: layout.datasetSnapshot, spillingInto: layout.root)
        let writer = try LogWriter(path: layout.logPath)
        let executor = try RunCommand.makeExecutor(config)
        console.err("velora: resuming session \(name) in \(layout.root)\n")
        return try runSession(layout: layout, lock: lock, writer: writer, config: config,
                              dataset: dataset, executor: executor, command: "resume", console: console)
    }

    /// The recorded config, and the exit code when there is nothing left to run (the
    /// reports are rewritten then). Its fold of the log is dropped on return: the runner
    /// folds the log again after the writer has repaired a torn tail.
    static func prepare(_ layout: SessionLayout, name: String, console: Console) throws -> (RunConfig, Int32?) {
        let (state, _) = try SessionStore.load(layout)
        var config = try SessionStore.recordedConfig(state)
        try config.restoreSecrets(from: console.environment, original: nil)
        let plan = ResumePlan(state: state, policy: SchedulePolicy(config: config))
        // A session whose runs all ended under a stopped runner (interrupted attempts that
        // `retry.on` does not retry) is not completed yet: the runner records that.
        guard plan.starts.isEmpty && plan.interrupted.isEmpty && plan.lookedUp.isEmpty && state.liveRunner == nil
              && state.completed else { return (config, nil) }
        console.err("velora: session \(name) has nothing left to run\n")
        try writeReports(state: state, layout: layout)
        console.err(Summary.text(state))
        return (config, state.runs.allSatisfy { $0.status == .succeeded } ? ExitCode.success : ExitCode.failedRuns)
    }
}

func lastPathComponent(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
