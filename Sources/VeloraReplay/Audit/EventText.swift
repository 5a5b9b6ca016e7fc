import VeloraEvents

/// Events for people (`velora log`) and for tools (`velora log --json`).
public enum EventText {
    /// The run an event is about, if any.
    public static func run(of kind: EventKind) -> RunIndex? {
        switch kind {
        case let .runQueued(p): p.run
        case let .attemptStarted(p), let .attemptPrepared(p): p.run
        case let .attemptSucceeded(p), let .attemptFailed(p), let .attemptTimedOut(p), let .attemptInterrupted(p): p.run
        case let .attemptMetrics(p): p.run
        case let .retryScheduled(p): p.run
        default: nil
        }
    }

    static func runLabel(_ run: RunIndex, _ state: SessionState) -> String {
        Int(run) < state.runs.count ? "\(state.runs[Int(run)].model)/\(state.runs[Int(run)].instanceID)" : "run \(run)"
    }

    /// One line: `#12 2026-12-03T16:04:18.123Z attemptStarted opus/x attempt 1 pid 42 on host`.
    /// `state` is the fold up to and including this event (for run names).
    public static func line(_ e: Event, state: SessionState) -> String {
        var s = "#\(e.seq) \(isoTime(e.time)) \(e.kind.name)"
        switch e.kind {
        case let .sessionCreated(p):
            s += " \(p.sessionID) on \(p.host), velora \(p.veloraVersion), \(p.instanceCount) instances from \(p.datasetPath) (\(p.datasetFingerprint))"
        case let .runQueued(p):
            s += " \(p.model)/\(p.instanceID) -> \(p.folder)"
        case let .attemptStarted(p), let .attemptPrepared(p):
            s += " \(runLabel(p.run, state)) attempt \(p.attempt) on \(p.host)"
            if let pid = p.pid { s += " pid \(pid)" }
            if let job = p.jobID { s += " job \(job)" }
            s += " argv " + p.argv.map { $0.debugDescription }.joined(separator: " ")
        case let .attemptSucceeded(p), let .attemptFailed(p), let .attemptTimedOut(p), let .attemptInterrupted(p):
            s += " \(runLabel(p.run, state)) attempt \(p.attempt): \(p.reason)"
            if let d = p.durationMs { s += " (\(humanDuration(d)))" }
            if let st = p.executorState { s += " [\(st)]" }
        case let .attemptMetrics(p):
            s += " \(runLabel(p.run, state)) attempt \(p.attempt)"
            if let f = p.format { s += " \(f)" }
            if let x = p.exitStatus { s += " exit_status=\(x)" }
            if let x = p.submitted { s += " submitted=\(x)" }
            if let x = p.cost { s += " cost=\(fixed(x, 4))" }
            if let x = p.apiCalls { s += " api_calls=\(x)" }
            if let x = p.tokensSent { s += " tokens_sent=\(x)" }
            if let x = p.tokensReceived { s += " tokens_received=\(x)" }
            if let n = p.note { s += " note: \(n)" }
        case let .retryScheduled(p):
            s += " \(runLabel(p.run, state)) attempt \(p.nextAttempt) not before \(isoTime(p.notBefore)) (\(p.reason))"
        case let .retryRequested(p):
            s += " \(p.runs.count) runs (\(p.selection))"
        case let .runnerStarted(p):
            s += " \(p.command) pid \(p.pid) on \(p.host), executor \(p.executor), velora \(p.veloraVersion)"
        case let .runnerStopped(p):
            s += " \(p.reason), exit \(p.exitCode)" + (p.detail.map { " (\($0))" } ?? "")
        case let .sessionCompleted(p):
            s += " \(p.succeeded)/\(p.runs) runs succeeded"
        case let .logRepaired(p):
            s += " cut a torn tail of \(p.droppedBytes) bytes at byte \(p.offset)"
        case let .unknown(code, payload):
            s += " (kind \(code) from a newer velora, \(payload.count) bytes)"
        }
        return s
    }

    /// One JSON object per event, keys in a fixed order.
    public static func json(_ e: Event, state: SessionState) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.int("seq", e.seq)
        w.string("time", isoTime(e.time))
        w.string("kind", e.kind.name)
        if let run = run(of: e.kind), Int(run) < state.runs.count {
            w.string("model", state.runs[Int(run)].model)
            w.string("instance_id", state.runs[Int(run)].instanceID)
        }
        switch e.kind {
        case let .sessionCreated(p):
            w.string("session", p.sessionID)
            w.string("host", p.host)
            w.string("velora_version", p.veloraVersion)
            w.string("dataset", p.datasetPath)
            w.string("dataset_fingerprint", p.datasetFingerprint)
            w.int("instances", p.instanceCount)
            w.raw("config", p.config)
        case let .runQueued(p):
            w.int("run", p.run)
            w.int("dataset_index", p.datasetIndex)
            w.string("folder", p.folder)
        case let .attemptStarted(p), let .attemptPrepared(p):
            w.int("run", p.run)
            w.int("attempt", p.attempt)
            w.string("executor", p.executor)
            w.int("pid", p.pid)
            w.int("pgid", p.pgid)
            w.string("job_id", p.jobID)
            w.string("host", p.host)
            w.beginArray("argv")
            for a in p.argv { w.string(nil, a) }
            w.endArray()
            w.string("output_dir", p.outputDir)
            w.int("timeout_ms", p.timeoutMs)
        case let .attemptSucceeded(p), let .attemptFailed(p), let .attemptTimedOut(p), let .attemptInterrupted(p):
            w.int("run", p.run)
            w.int("attempt", p.attempt)
            w.int("exit_code", p.exitCode)
            w.int("signal", p.signal)
            w.int("duration_ms", p.durationMs)
            w.string("reason", p.reason)
            w.string("executor_state", p.executorState)
            w.bool("by_runner", p.byRunner)
        case let .attemptMetrics(p):
            w.int("run", p.run)
            w.int("attempt", p.attempt)
            w.string("format", p.format)
            w.string("file", p.file)
            w.string("exit_status", p.exitStatus)
            w.bool("submitted", p.submitted)
            w.int("submission_bytes", p.submissionBytes)
            w.number("cost", p.cost)
            w.int("tokens_sent", p.tokensSent)
            w.int("tokens_received", p.tokensReceived)
            w.int("api_calls", p.apiCalls)
            w.string("note", p.note)
        case let .retryScheduled(p):
            w.int("run", p.run)
            w.int("next_attempt", p.nextAttempt)
            w.string("not_before", isoTime(p.notBefore))
            w.string("reason", p.reason)
        case let .retryRequested(p):
            w.beginArray("runs")
            for r in p.runs { w.int(nil, r) }
            w.endArray()
            w.string("selection", p.selection)
        case let .runnerStarted(p):
            w.int("pid", p.pid)
            w.string("host", p.host)
            w.string("velora_version", p.veloraVersion)
            w.string("command", p.command)
            w.string("executor", p.executor)
        case let .runnerStopped(p):
            w.string("reason", p.reason)
            w.int("exit_code", p.exitCode)
            w.string("detail", p.detail)
        case let .sessionCompleted(p):
            w.int("runs", p.runs)
            w.int("succeeded", p.succeeded)
        case let .logRepaired(p):
            w.int("offset", p.offset)
            w.int("dropped_bytes", p.droppedBytes)
        case let .unknown(code, payload):
            w.int("code", code)
            w.int("payload_bytes", payload.count)
        }
        w.endObject()
        return w.text
    }
}
