import VeloraEvents
import VeloraReplay

/// Runs attempts as Slurm jobs (`sbatch --parsable`), watched with one batched
/// `squeue` call per poll for all of the session's jobs (no `sacct`: accounting
/// is often off). velora enforces its own timeout with `scancel`; a generous
/// `--time` is passed only as a backstop. A shared file system is assumed:
/// the job writes into the attempt's folder. Slurm's process tracking kills
/// every process of a job when it ends.
public final class SlurmExecutor: Executor {
    public let kind = "slurm"
    let config: SlurmConfig
    let host: String
    let timeoutMs: UInt64

    struct Job {
        var run: RunIndex
        var attempt: UInt32
        var id: String
    }

    var jobs: [String: Job] = [:]
    var byRun: [RunIndex: String] = [:]
    var nextPoll: UInt64 = 0

    public init(config: SlurmConfig, host: String, timeoutMs: UInt64) throws(RunnerError) {
        self.config = config
        self.host = host
        self.timeoutMs = timeoutMs
        let probe = runCommand(["sinfo", "-h", "-o", "%P"])
        guard probe.status == 0 else {
            throw .invalidInput("executor \"slurm\": cannot reach Slurm (sinfo: \(probe.stderr.trimmed.isEmpty ? "exit \(probe.status)" : probe.stderr.trimmed))")
        }
    }

    public var wakeupDescriptor: Int32? { nil }

    public func pollInterval() -> UInt64? {
        guard !jobs.isEmpty else { return nil }
        let now = monotonicMillis()
        return nextPoll > now ? nextPoll - now : 0
    }

    /// Single-quotes a word for the job script: the script never interprets it.
    static func quote(_ word: String) -> String {
        "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    public func start(_ spec: AttemptSpec) throws(RunnerError) -> StartedAttempt {
        let script = spec.outputDir + "/velora-job.sh"
        let text = "#!/bin/sh\n# Written by velora: runs the attempt's argv without interpreting it.\n"
            + "cd \(Self.quote(spec.workdir)) || exit 121\n"
            + "exec " + spec.argv.map(Self.quote).joined(separator: " ") + " </dev/null\n"
        do throws(EventsError) {
            try writeFileAtomically(script, Array(text.utf8))
        } catch {
            throw .system("cannot write the job script: \(error)")
        }
        var argv = ["sbatch", "--parsable", "--job-name", spec.name, "--output", spec.logPath, "--error", spec.logPath,
                    "--chdir", spec.workdir, "--export", "ALL", "--open-mode", "append"]
        if let p = config.partition { argv += ["--partition", p] }
        if let c = config.cpus { argv += ["--cpus-per-task", String(c)] }
        if let m = config.memory { argv += ["--mem", m] }
        if timeoutMs > 0 {
            // A backstop only: Slurm checks limits coarsely; velora cancels at its own deadline.
            let minutes = (timeoutMs * 2) / 60_000 + 10
            argv += ["--time", String(minutes)]
        }
        argv += config.extraArgs
        argv.append(script)
        let result = runCommand(argv, environment: spec.environment)
        let id = result.stdout.trimmed.split(separator: ";").first.map(String.init) ?? ""
        guard result.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw .system("sbatch failed (exit \(result.status)): \(result.stderr.trimmed)")
        }
        jobs[id] = Job(run: spec.run, attempt: spec.attempt, id: id)
        byRun[spec.run] = id
        nextPoll = min(nextPoll == 0 ? .max : nextPoll, monotonicMillis() + config.pollMs)
        return StartedAttempt(pid: nil, pgid: nil, jobID: id, host: host)
    }

    public func terminate(run: RunIndex, attempt: UInt32) {
        guard let id = byRun[run], jobs[id]?.attempt == attempt else { return }
        _ = runCommand(["scancel", id])
        nextPoll = monotonicMillis()
    }

    public func kill(run: RunIndex, attempt: UInt32) {
        guard let id = byRun[run], jobs[id]?.attempt == attempt else { return }
        _ = runCommand(["scancel", "--signal", "KILL", "--full", id])
        _ = runCommand(["scancel", id])
        nextPoll = monotonicMillis()
    }

    /// One line per job: id, state, reason, raw wait status.
    struct JobState: Equatable {
        var state: String
        var reason: String
        var waitStatus: Int32
    }

    /// Asks Slurm about these jobs in one call; throws when Slurm could not be asked.
    static func query(_ ids: [String]) throws(RunnerError) -> [String: JobState] {
        guard !ids.isEmpty else { return [:] }
        let result = runCommand(["squeue", "-h", "-t", "all", "-j", ids.joined(separator: ","),
                                 "-O", "JobID:|,State:|,Reason:|,exit_code:"])
        if result.status != 0 {
            // squeue fails when none of the ids is known any more.
            if result.stderr.contains("Invalid job id") { return [:] }
            throw .system("squeue failed (exit \(result.status)): \(result.stderr.trimmed)")
        }
        var states: [String: JobState] = [:]
        for line in result.stdout.split(separator: "\n") {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters() }
            guard f.count >= 4 else { continue }
            states[f[0]] = JobState(state: f[1], reason: f[2], waitStatus: Int32(f[3]) ?? 0)
        }
        return states
    }

    static let activeStates: Set<String> = ["PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
                                            "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
                                            "RESV_DEL_HOLD", "SPECIAL_EXIT"]

    /// What a finished job's state means for velora.
    static func ended(_ job: Job, _ s: JobState) -> EndedAttempt {
        var e = EndedAttempt(run: job.run, attempt: job.attempt)
        e.executorState = s.state
        if s.waitStatus & 0x7f != 0 { e.signal = s.waitStatus & 0x7f } else { e.exitCode = (s.waitStatus >> 8) & 0xff }
        let detail = "Slurm job \(job.id) \(s.state)" + (s.reason.isEmpty || s.reason == "None" ? "" : " (\(s.reason))")
        switch s.state {
        case "COMPLETED", "FAILED":
            break  // the exit status decides
        case "TIMEOUT", "DEADLINE":
            e.forcedOutcome = .timedOut
            e.failure = detail
        case "CANCELLED":
            // velora's own cancels are classified by the scheduler (timed out / interrupted).
            e.forcedOutcome = .interrupted
            e.failure = detail + ", cancelled outside velora"
        case "NODE_FAIL", "PREEMPTED", "BOOT_FAIL":
            e.forcedOutcome = .interrupted
            e.failure = detail
        case "OUT_OF_MEMORY":
            e.forcedOutcome = .failed
            e.failure = detail
        default:
            e.forcedOutcome = .failed
            e.failure = detail
        }
        return e
    }

    public func collect(monoNow: UInt64) -> [EndedAttempt] {
        guard !jobs.isEmpty, monoNow >= nextPoll else { return [] }
        nextPoll = monoNow + config.pollMs
        // Slurm not answering for a poll is no news: asked again at the next poll.
        guard let states = try? Self.query(jobs.keys.sorted()) else { return [] }
        var done: [EndedAttempt] = []
        for id in jobs.keys.sorted() {
            guard let job = jobs[id] else { continue }
            if let s = states[id] {
                if Self.activeStates.contains(s.state) { continue }
                done.append(Self.ended(job, s))
            } else {
                var e = EndedAttempt(run: job.run, attempt: job.attempt)
                e.forcedOutcome = .interrupted
                e.failure = "Slurm no longer knows job \(id)"
                done.append(e)
            }
            jobs[id] = nil
            byRun[job.run] = nil
        }
        return done
    }

    /// Throws, recording nothing, when Slurm cannot be asked: its jobs may still be
    /// running, and an attempt recorded interrupted would be run a second time beside them.
    public func recover(_ attempts: [(RunIndex, AttemptStarted)], sessionToken: String) throws(RunnerError) -> [RunIndex: RecoveredAttempt] {
        var result: [RunIndex: RecoveredAttempt] = [:]
        let known = attempts.compactMap { $0.1.jobID }
        let states: [String: JobState]
        do {
            states = try Self.query(known)
        } catch {
            throw .system("cannot ask Slurm about the jobs the previous runner left (\(error)); nothing was recorded:"
                          + " run velora resume again when Slurm answers")
        }
        // Jobs submitted by a runner that died before recording them: cancelled.
        cancelUnrecorded(namePart: String(sessionToken.dropLast()), known: Set(known))
        for (run, started) in attempts {
            guard let id = started.jobID else {
                result[run] = .lost(reason: "the runner stopped before the job was submitted")
                continue
            }
            let job = Job(run: run, attempt: started.attempt, id: id)
            if let s = states[id] {
                if Self.activeStates.contains(s.state) {
                    result[run] = .stillRunning(StartedAttempt(pid: nil, pgid: nil, jobID: id, host: started.host))
                } else {
                    var e = Self.ended(job, s)
                    if s.state == "CANCELLED" { e.failure = "Slurm job \(id) was cancelled while no runner watched it" }
                    result[run] = .finished(e)
                }
            } else {
                result[run] = .lost(reason: "Slurm no longer knows job \(id) (it ended too long ago to look up)")
            }
        }
        return result
    }

    /// Cancels this session's jobs that the log does not know (found by their name).
    func cancelUnrecorded(namePart: String, known: Set<String>) {
        guard !namePart.isEmpty else { return }
        let listing = runCommand(["squeue", "-h", "-o", "%i|%j"])
        guard listing.status == 0 else { return }
        for line in listing.stdout.split(separator: "\n") {
            let f = line.split(separator: "|", maxSplits: 1).map(String.init)
            guard f.count == 2, f[1].contains("-\(namePart.prefix(8))-"), !known.contains(f[0]) else { continue }
            _ = runCommand(["scancel", f[0]])
        }
    }

    public func adopt(_ spec: AttemptSpec, started: StartedAttempt) {
        guard let id = started.jobID else { return }
        jobs[id] = Job(run: spec.run, attempt: spec.attempt, id: id)
        byRun[spec.run] = id
        nextPoll = monotonicMillis()
    }
}

extension String {
    var trimmed: String { trimmingCharacters() }

    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(self).trimmingCharacters() }
}
