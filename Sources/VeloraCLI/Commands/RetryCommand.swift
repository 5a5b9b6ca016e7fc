import VeloraEvents
import VeloraReplay
import VeloraRunner

struct RetryCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "retry",
        summary: "new attempts for chosen runs (run by the next `velora resume`), or a dataset of them",
        options: [
            OptionSpec("status", value: "LIST", help: "runs whose final status is one of these (default failed,timed_out,interrupted)"),
            OptionSpec("model", value: "M", repeatable: true, help: "only runs of this model"),
            OptionSpec("instance", value: "ID", repeatable: true, help: "only runs of this instance"),
            OptionSpec("dataset-out", value: "FILE", help: "write the chosen instances as a dataset (.jsonl or .jsonl.gz) instead"),
            outputOption,
        ],
        positionals: [PositionalSpec("SESSION", help: "a session id or folder")],
        details: "Without --dataset-out the request is appended to the session's log; `velora resume SESSION`\nthen runs exactly those runs again, each as a new attempt in its own folder.")

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        let layout = try SessionStore.locate(args.positionals["SESSION"], output: sessionsFolder(args, console))
        let name = lastPathComponent(layout.root)
        var statuses: Set<RunStatus> = [.failed, .timedOut, .interrupted]
        if let list = args.value("status") {
            statuses = []
            for part in list.split(separator: ",").map(String.init) {
                guard let s = RunStatus(rawValue: part), s.isTerminal else {
                    throw UsageError(message: "velora retry: --status: \(part.debugDescription) is not one of succeeded, failed, timed_out, interrupted")
                }
                statuses.insert(s)
            }
        }
        let models = Set(args.all("model").flatMap { $0.split(separator: ",").map(String.init) })
        let instances = Set(args.all("instance"))
        let (state, _) = try SessionStore.load(layout)
        for m in models where !state.models.contains(m) {
            throw RunnerError.invalidInput("--model: no model \(m.debugDescription) in session \(name) (it has \(state.models.joined(separator: ", ")))")
        }
        for i in instances where !state.runs.contains(where: { $0.instanceID == i }) {
            throw RunnerError.invalidInput("--instance: no instance \(i.debugDescription) in session \(name)")
        }
        let chosen = state.runs.filter { run in
            statuses.contains(run.status) && (models.isEmpty || models.contains(run.model))
                && (instances.isEmpty || instances.contains(run.instanceID))
        }
        var selection = "--status \(statuses.map(\.rawValue).sorted().joined(separator: ","))"
        if !models.isEmpty { selection += " --model \(models.sorted().joined(separator: ","))" }
        if !instances.isEmpty { selection += " --instance \(instances.sorted().joined(separator: ","))" }

        if let out = args.value("dataset-out") {
            let dataset = try Dataset.load(path: layout.datasetSnapshot)
            let wanted = Set(chosen.map(\.instanceID))
            let rows = try dataset.instances.indices.filter { wanted.contains(dataset.instances[$0].id) }.map(dataset.row)
            try Dataset.writeJSONLines(rows, to: absolutePath(out, base: console.cwd))
            console.err("velora: wrote \(rows.count) instances (\(chosen.count) runs: \(selection)) to \(out)\n")
            return ExitCode.success
        }
        guard !chosen.isEmpty else {
            console.err("velora: no runs match \(selection); nothing to retry\n")
            return ExitCode.success
        }
        let lock = try SessionLock(layout: layout, sessionName: name)
        let writer = try LogWriter(path: layout.logPath)
        try writer.append(.retryRequested(RetryRequested(runs: chosen.map(\.run), selection: selection)))
        withExtendedLifetime(lock) {}
        console.err("velora: \(chosen.count) runs will get a new attempt; run: velora resume \(name)\n")
        return ExitCode.success
    }
}
