import Testing
import VeloraEvents
import VeloraReplay
@testable import VeloraRunner

/// The scheduler as a pure state machine: inputs in, commands out, no processes.
struct Harness {
    var scheduler: Scheduler
    var seq: UInt64 = 0
    var mono: UInt64 = 1_000
    var wall: Int64 = 1_700_000_000_000

    init(models: [String], instances: Int, configure: (inout RunConfig) -> Void = { _ in }) {
        var config = RunConfig()
        config.models = models.map { ModelConfig(name: $0, keys: ["name": $0], maxParallel: nil, env: [:]) }
        configure(&config)
        var events: [Event] = []
        var s: UInt64 = 0
        func add(_ k: EventKind) { s += 1; events.append(Event(seq: s, time: 0, kind: k)) }
        add(.sessionCreated(SessionCreated(sessionID: "s", nonce: "n", config: "{}", datasetPath: "d", datasetFingerprint: "f",
                                           instanceCount: UInt64(instances), host: "h", veloraVersion: "v")))
        var run: RunIndex = 0
        for m in config.models {
            for i in 0..<instances {
                add(.runQueued(RunQueued(run: run, model: m.name, instanceID: "i\(i)", datasetIndex: UInt32(i), folder: "f")))
                run += 1
            }
        }
        seq = s
        scheduler = Scheduler(state: SessionState(events: events), policy: SchedulePolicy(config: config))
    }

    /// Feeds an input, records what it asked to record, and returns the other commands.
    /// Like the runner's shell, it ticks again after recording, until nothing is left to do.
    mutating func feed(_ input: Scheduler.Input) -> [Scheduler.Command] {
        var out: [Scheduler.Command] = []
        var pending = scheduler.handle(input)
        while !pending.isEmpty {
            defer {
                if pending.isEmpty && !scheduler.finished { pending = scheduler.handle(.tick(mono: mono, wall: wall)) }
            }
            let command = pending.removeFirst()
            if case let .record(kinds) = command {
                apply(kinds)
            } else {
                out.append(command)
            }
            if case let .start(run, attempt) = command {
                apply([.attemptStarted(AttemptStarted(run: run, attempt: attempt, executor: "test", host: "h", argv: [],
                                                      outputDir: "o", timeoutMs: 0))])
                pending += scheduler.handle(.started(run: run, attempt: attempt, mono: mono))
            }
        }
        return out
    }

    mutating func apply(_ kinds: [EventKind]) {
        scheduler.apply(kinds.map { kind in seq += 1; return Event(seq: seq, time: wall, kind: kind) })
    }

    mutating func tick(_ ms: UInt64 = 0) -> [Scheduler.Command] {
        mono += ms
        wall += Int64(ms)
        return feed(.tick(mono: mono, wall: wall))
    }

    mutating func exit(_ run: RunIndex, code: Int32 = 0, attempt: UInt32 = 1) -> [Scheduler.Command] {
        feed(.exited(run: run, attempt: attempt, exit: AttemptExit(exitCode: code), mono: mono, wall: wall))
    }

    func starts(_ commands: [Scheduler.Command]) -> [String] {
        commands.compactMap {
            guard case let .start(run, attempt) = $0 else { return nil }
            let r = scheduler.state.runs[Int(run)]
            return "\(r.model)/\(r.instanceID)#\(attempt)"
        }
    }
}

@Suite struct SchedulerTests {
    @Test func parallelInterleavesModelsInstanceByInstanceUpToJobs() {
        var h = Harness(models: ["a", "b"], instances: 3) { $0.mode = .parallel; $0.jobs = 3 }
        #expect(h.starts(h.tick()) == ["a/i0#1", "b/i0#1", "a/i1#1"])
        #expect(h.starts(h.exit(0)) == ["b/i1#1"])
        #expect(h.starts(h.tick()) == [])
    }

    @Test func sequentialRunsOneAtATimeModelByModel() {
        var h = Harness(models: ["a", "b"], instances: 2) { $0.mode = .sequential; $0.jobs = 8 }
        var order: [String] = []
        order += h.starts(h.tick())
        for _ in 0..<4 {
            let running = h.scheduler.state.runs.first { $0.status == .running }!.run
            order += h.starts(h.exit(running))
        }
        #expect(order == ["a/i0#1", "a/i1#1", "b/i0#1", "b/i1#1"])
    }

    @Test func hybridFinishesAModelBeforeTheNext() {
        var h = Harness(models: ["a", "b"], instances: 3) { $0.mode = .hybrid; $0.jobs = 2 }
        #expect(h.starts(h.tick()) == ["a/i0#1", "a/i1#1"])
        #expect(h.starts(h.exit(0)) == ["a/i2#1"])
        #expect(h.starts(h.exit(1)) == [])  // b waits until every run of a is done
        #expect(h.starts(h.exit(2)) == ["b/i0#1", "b/i1#1"])
    }

    @Test func perModelCap() {
        var h = Harness(models: ["a", "b"], instances: 4) {
            $0.mode = .parallel; $0.jobs = 4
            $0.models[0].maxParallel = 1
        }
        #expect(h.starts(h.tick()) == ["a/i0#1", "b/i0#1", "b/i1#1", "b/i2#1"])
        #expect(h.starts(h.exit(4)) == ["b/i3#1"])
        #expect(h.starts(h.exit(0)) == ["a/i1#1"])
    }

    @Test func retryWithBackoffWaitsForItsNotBeforeTime() {
        var h = Harness(models: ["a"], instances: 1) {
            $0.retry = RetryPolicy(maxAttempts: 3, on: [.failed], backoffMs: 5_000)
        }
        _ = h.tick()
        #expect(h.starts(h.exit(0, code: 1)) == [])
        #expect(h.scheduler.state.runs[0].status == .retrying)
        let notBefore = h.scheduler.state.runs[0].pendingRetry!.notBefore
        #expect(notBefore == h.wall + 5_000)
        #expect(h.scheduler.nextWakeup().wall == notBefore)
        #expect(h.starts(h.tick(4_999)) == [])
        #expect(h.starts(h.tick(1)) == ["a/i0#2"])
        #expect(h.starts(h.exit(0, code: 1, attempt: 2)) == [])
        _ = h.tick(5_000)
        let last = h.exit(0, code: 1, attempt: 3)
        // Attempts exhausted: the run ends failed and the session finishes with exit 1.
        #expect(h.scheduler.state.runs[0].status == .failed)
        #expect(last.contains(.finish(exitCode: 1)))
    }

    @Test func outcomesNotInRetryOnAreFinal() {
        var h = Harness(models: ["a"], instances: 1) {
            $0.retry = RetryPolicy(maxAttempts: 3, on: [.timedOut], backoffMs: 0)
        }
        _ = h.tick()
        let commands = h.exit(0, code: 2)
        #expect(h.scheduler.state.runs[0].status == .failed)
        #expect(commands.contains(.finish(exitCode: 1)))
    }

    @Test func timeoutTerminatesThenKillsAfterGrace() {
        var h = Harness(models: ["a"], instances: 1) { $0.timeoutMs = 10_000; $0.killGraceMs = 2_000 }
        _ = h.tick()
        #expect(h.scheduler.nextWakeup().mono == h.mono + 10_000)
        #expect(h.tick(9_999) == [])
        #expect(h.tick(1) == [.terminate(run: 0, attempt: 1)])
        #expect(h.tick(1_999) == [])
        #expect(h.tick(1) == [.kill(run: 0, attempt: 1)])
        _ = h.feed(.exited(run: 0, attempt: 1, exit: AttemptExit(signal: 9), mono: h.mono, wall: h.wall))
        let attempt = h.scheduler.state.runs[0].attempts[0]
        #expect(attempt.outcome == .timedOut)
        #expect(attempt.ended?.durationMs == 12_000)
        #expect(attempt.ended?.reason == "timed out after 10s")
    }

    @Test func stopRequestTerminatesRunningAndStartsNothing() {
        var h = Harness(models: ["a"], instances: 3) { $0.jobs = 2; $0.killGraceMs = 1_000 }
        _ = h.tick()
        let stop = h.feed(.stopRequested(reason: "interrupted by SIGINT"))
        #expect(stop == [.terminate(run: 0, attempt: 1), .terminate(run: 1, attempt: 1)])
        #expect(h.starts(h.exit(0)) == [])
        let end = h.exit(1)
        #expect(end.contains(.finish(exitCode: 130)))
        #expect(h.scheduler.state.runs[0].attempts[0].outcome == .interrupted)
        #expect(h.scheduler.state.runs[0].attempts[0].ended?.reason == "interrupted by SIGINT")
        #expect(h.scheduler.state.runs[2].status == .queued)
        #expect(h.scheduler.state.lastStop == RunnerStopped(reason: "interrupted", exitCode: 130, detail: "interrupted by SIGINT"))
    }

    @Test func secondStopKillsAtOnce() {
        var h = Harness(models: ["a"], instances: 1)
        _ = h.tick()
        _ = h.feed(.stopRequested(reason: "interrupted by SIGINT"))
        #expect(h.feed(.killRequested) == [.kill(run: 0, attempt: 1)])
    }

    @Test func successNeedsExitCodeAndRequiredFiles() {
        var h = Harness(models: ["a"], instances: 2) { $0.success = SuccessRule(exitCodes: [0, 3], require: ["*.traj"]) }
        _ = h.tick()
        _ = h.feed(.exited(run: 0, attempt: 1, exit: AttemptExit(exitCode: 3), mono: h.mono, wall: h.wall))
        _ = h.feed(.exited(run: 1, attempt: 1, exit: AttemptExit(exitCode: 0, missing: ["*.traj"]), mono: h.mono, wall: h.wall))
        #expect(h.scheduler.state.runs[0].status == .succeeded)
        #expect(h.scheduler.state.runs[1].status == .failed)
        #expect(h.scheduler.state.runs[1].attempts[0].ended?.reason == "exit code 0, but no non-empty file matches *.traj")
    }

    /// The same log gives the same plan and the same start order.
    @Test func planIsAPureFunctionOfTheLog() {
        var a = Harness(models: ["x", "y", "z"], instances: 5) { $0.jobs = 4 }
        var b = Harness(models: ["x", "y", "z"], instances: 5) { $0.jobs = 4 }
        #expect(a.starts(a.tick()) == b.starts(b.tick()))
        let planA = ResumePlan(state: a.scheduler.state, policy: a.scheduler.policy)
        let planB = ResumePlan(state: b.scheduler.state, policy: b.scheduler.policy)
        #expect(planA == planB)
        #expect(planA.interrupted.count == 4)
        // 11 never started, and the 4 running ones again: an interrupted attempt does not
        // use up the default single attempt.
        #expect(planA.starts.count == 11 + 4)
        var c = Harness(models: ["x"], instances: 3) { $0.jobs = 2; $0.retry = RetryPolicy(maxAttempts: 1, on: [.failed], backoffMs: 0) }
        _ = c.tick()
        let planC = ResumePlan(state: c.scheduler.state, policy: c.scheduler.policy)
        #expect(planC.interrupted.count == 2 && planC.starts.count == 1)  // "interrupted" not in retry.on: not run again
    }

    /// A run whose attempts ended so (`i`: cut short by velora itself, `p`: interrupted by
    /// the executor, e.g. a preempted Slurm job, `f`: failed, `R`: a `velora retry` of the run).
    static func run(_ history: String) -> RunState {
        var events: [Event] = []
        func add(_ kind: EventKind) { events.append(Event(seq: UInt64(events.count + 1), time: 0, kind: kind)) }
        add(.runQueued(RunQueued(run: 0, model: "m", instanceID: "i", datasetIndex: 0, folder: "runs/m/i")))
        var attempt: UInt32 = 0
        for c in history {
            if c == "R" { add(.retryRequested(RetryRequested(runs: [0], selection: "--status failed"))); continue }
            attempt += 1
            add(.attemptStarted(AttemptStarted(run: 0, attempt: attempt, executor: "local", host: "h", argv: [],
                                               outputDir: "runs/m/i/attempt-\(attempt)", timeoutMs: 0)))
            switch c {
            case "i": add(.attemptInterrupted(AttemptEnded(run: 0, attempt: attempt, reason: "stop", byRunner: true)))
            case "p": add(.attemptInterrupted(AttemptEnded(run: 0, attempt: attempt, reason: "PREEMPTED", executorState: "PREEMPTED")))
            default: add(.attemptFailed(AttemptEnded(run: 0, attempt: attempt, exitCode: 1, reason: "exit code 1")))
            }
        }
        return SessionState(events: events).runs[0]
    }

    /// Attempts velora itself cut short (its stop, crash or error) do not count against
    /// max_attempts, up to a bound; the executor's interruptions and failures do; a
    /// `velora retry` starts the count afresh.
    @Test func interruptedAttemptsDoNotUseUpTheRetryBudget() {
        let one = RetryPolicy(maxAttempts: 1, on: [.failed, .timedOut, .interrupted], backoffMs: 0)
        let two = RetryPolicy(maxAttempts: 2, on: [.failed, .timedOut, .interrupted], backoffMs: 0)
        func retried(_ policy: RetryPolicy, _ history: String) -> Bool {
            let r = Self.run(history)
            let last = r.attempts[r.attempts.count - 1]
            return policy.retries(r, attempt: last.number, outcome: last.outcome ?? .failed, byRunner: last.ended?.byRunner == true)
        }
        #expect(retried(one, "i"))              // Ctrl-C on the only attempt: run it again
        #expect(retried(one, "ii"))
        #expect(!retried(one, "f"))             // the agent failed its one attempt
        #expect(!retried(one, "if"))            // ... after a free interruption
        #expect(!retried(one, "p"))             // a preempted job counts
        #expect(retried(two, "p"))
        #expect(retried(two, "fi"))             // one failure counted, the interruption free
        #expect(!retried(two, "ff"))
        #expect(retried(one, "iii"))            // three free interruptions...
        #expect(!retried(one, "iiii"))          // ... then they count: no endless loop
        #expect(!retried(one, "fRf"))           // a retry asked for gives one more attempt
        #expect(retried(one, "fRi"))            // ... which Ctrl-C does not use up
        #expect(!retried(two, "ffRf"))          // one more, whatever max_attempts
        #expect(!RetryPolicy(maxAttempts: 3, on: [.failed], backoffMs: 0).retries(Self.run("i"), attempt: 1, outcome: .interrupted, byRunner: true))
    }

    /// Failures and the executor's interruptions (a preempted Slurm job) wait for the
    /// backoff; velora's own stops do not.
    @Test func backoffIsForFailuresNotForTheRunnersOwnStops() {
        var h = Harness(models: ["a"], instances: 3) { $0.jobs = 3; $0.retry = RetryPolicy(maxAttempts: 3, on: [.failed, .interrupted], backoffMs: 60_000) }
        _ = h.tick()
        _ = h.feed(.exited(run: 0, attempt: 1, exit: AttemptExit(exitCode: 1), mono: h.mono, wall: h.wall))
        #expect(h.scheduler.state.runs[0].pendingRetry?.notBefore == h.wall + 60_000)
        let preempted = AttemptExit(executorState: "PREEMPTED", failure: "Slurm job 7 PREEMPTED", forcedOutcome: .interrupted)
        _ = h.feed(.exited(run: 2, attempt: 1, exit: preempted, mono: h.mono, wall: h.wall))
        let run2 = h.scheduler.state.runs[2]
        #expect(run2.attempts[0].outcome == .interrupted && run2.attempts[0].ended?.byRunner == nil)
        #expect(run2.pendingRetry?.notBefore == h.wall + 60_000)
        let stop = h.feed(.stopRequested(reason: "interrupted by SIGINT"))
        #expect(stop.contains(.terminate(run: 1, attempt: 1)))
        _ = h.feed(.exited(run: 1, attempt: 1, exit: AttemptExit(signal: 15), mono: h.mono, wall: h.wall))
        let run1 = h.scheduler.state.runs[1]
        #expect(run1.attempts[0].ended?.byRunner == true)
        #expect(run1.pendingRetry?.notBefore == h.wall)
    }

    @Test func resumePlanInterruptsRunningAttemptsAndRetriesThemUnderPolicy() {
        var h = Harness(models: ["a"], instances: 3) { $0.jobs = 2; $0.retry = RetryPolicy(maxAttempts: 2, on: [.interrupted], backoffMs: 0) }
        _ = h.tick()
        let plan = ResumePlan(state: h.scheduler.state, policy: h.scheduler.policy)
        #expect(plan.interrupted.map { "\($0.instanceID)#\($0.attempt)" } == ["i0#1", "i1#1"])
        #expect(plan.starts.map { "\($0.instanceID)#\($0.attempt)" } == ["i0#2", "i1#2", "i2#1"])
        #expect(plan.text.contains("record as interrupted"))
    }
}
