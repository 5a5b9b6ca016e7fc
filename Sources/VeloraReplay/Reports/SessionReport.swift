import VeloraEvents

/// One run's line in the reports: its final attempt.
public struct RunRow: Sendable, Equatable {
    public var model: String
    public var instanceID: String
    public var status: RunStatus
    public var attempts: Int
    public var exitCode: Int32?
    public var signal: Int32?
    public var durationMs: UInt64?
    public var startedAt: Int64?
    public var finishedAt: Int64?
    /// Relative to the session folder.
    public var outputDir: String?
    public var logPath: String?
    public var reason: String?
    public var metrics: AttemptMetrics?
}

/// Per-model figures.
public struct ModelSummary: Sendable, Equatable {
    public var model: String
    public var runs = 0
    public var counts: [RunStatus: Int] = [:]
    public var attempts = 0
    /// Durations of attempts that ended with a known duration, sorted.
    public var durations: [UInt64] = []
    public var cost: Double = 0
    public var costKnown = 0
    public var tokensSent: UInt64 = 0
    public var tokensReceived: UInt64 = 0
    public var apiCalls: UInt64 = 0
    public var withMetrics = 0
    public var submitted = 0
    public var exitStatuses: [String: Int] = [:]
    /// Runs by status while they are added, in `RunStatus.allCases` order (`counts` is made from it once).
    var tally = [Int](repeating: 0, count: RunStatus.allCases.count)

    public func count(_ status: RunStatus) -> Int { counts[status] ?? 0 }

    /// Counts one run in place (a copy per run would make the report quadratic).
    mutating func add(_ run: RunState, status: RunStatus) {
        runs += 1
        tally[status.position] += 1
        attempts += run.attempts.count
        for a in run.attempts {
            if let d = a.ended?.durationMs { durations.append(d) }
            guard let metrics = a.metrics else { continue }
            withMetrics += 1
            if let c = metrics.cost { cost += c; costKnown += 1 }
            // Agents write what they like: sums saturate instead of overflowing.
            tokensSent = saturating(tokensSent, metrics.tokensSent)
            tokensReceived = saturating(tokensReceived, metrics.tokensReceived)
            apiCalls = saturating(apiCalls, metrics.apiCalls)
        }
        if let metrics = run.attempts.last?.metrics {
            if metrics.submitted == true { submitted += 1 }
            if let status = metrics.exitStatus { exitStatuses[status, default: 0] += 1 }
        }
    }
    /// Fills `counts` from `tally` (the statuses seen, as a dictionary filled run by run held them).
    mutating func finishCounts() {
        for (i, status) in RunStatus.allCases.enumerated() where tally[i] > 0 { counts[status] = tally[i] }
    }

    public var finished: Int { RunStatus.allCases.filter(\.isTerminal).reduce(0) { $0 + count($1) } }
    public var successRate: Double { runs == 0 ? 0 : Double(count(.succeeded)) / Double(runs) }
    public var meanMs: UInt64? { durations.isEmpty ? nil : durations.reduce(0, +) / UInt64(durations.count) }
    public func percentile(_ p: Int) -> UInt64? {
        guard !durations.isEmpty else { return nil }
        // Nearest rank.
        let rank = max(1, (p * durations.count + 99) / 100)
        return durations[min(durations.count, rank) - 1]
    }
}

func saturating(_ a: UInt64, _ b: UInt64?) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b ?? 0)
    return overflow ? .max : sum
}

/// Everything the reports show, computed from the fold alone.
public struct SessionReport: Sendable, Equatable {
    public var sessionID: String
    public var asOfSeq: UInt64
    public var firstTime: Int64?
    public var lastTime: Int64?
    public var completed: Bool
    public var models: [ModelSummary]
    public var total: ModelSummary
    public var rows: [RunRow]
    public var findings: [Finding]

    /// `rows: false` builds the per-model summaries only (status, progress): no row a run.
    public init(_ state: SessionState, rows withRows: Bool = true) {
        sessionID = state.session?.sessionID ?? "?"
        asOfSeq = state.lastSeq
        firstTime = state.firstTime
        lastTime = state.lastTime
        completed = state.completed
        findings = state.findings
        // Summaries in `state.models` order, found by the run's model (runs of a model mostly come together).
        var summaries = state.models.map { ModelSummary(model: $0) }
        var position: [String: Int] = [:]
        for (i, name) in state.models.enumerated() where position[name] == nil { position[name] = i }
        var lastModel: String?
        var m = 0
        var total = ModelSummary(model: "all")
        rows = []
        if withRows { rows.reserveCapacity(state.runs.count) }
        for run in state.runs {
            let status = run.status
            if run.model != lastModel {
                if position[run.model] == nil {
                    position[run.model] = summaries.count
                    summaries.append(ModelSummary(model: run.model))
                }
                m = position[run.model] ?? 0
                lastModel = run.model
            }
            summaries[m].add(run, status: status)
            total.add(run, status: status)
            guard withRows else { continue }
            var row = RunRow(model: run.model, instanceID: run.instanceID, status: status, attempts: run.attempts.count)
            if let last = run.attempts.last {
                row.exitCode = last.ended?.exitCode
                row.signal = last.ended?.signal
                row.durationMs = last.ended?.durationMs
                row.startedAt = last.startedAt
                row.finishedAt = last.endedAt
                row.outputDir = last.started.outputDir
                row.logPath = last.started.outputDir + "/output.log.gz"
                row.reason = last.ended?.reason
                row.metrics = last.metrics
            }
            if status == .retrying, let retry = run.pendingRetry { row.reason = "retry scheduled: " + retry.reason }
            rows.append(row)
        }
        // As before: the models of `state.models` that have runs, each once, in that order.
        var listed = Set<String>()
        models = state.models.compactMap { name in
            guard let i = position[name], summaries[i].runs > 0, listed.insert(name).inserted else { return nil }
            var summary = summaries[i]
            summary.finishCounts()
            summary.durations.sort()
            return summary
        }
        total.finishCounts()
        total.durations.sort()
        self.total = total
    }
}
