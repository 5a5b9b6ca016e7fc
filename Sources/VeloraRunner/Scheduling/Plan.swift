import VeloraEvents
import VeloraReplay

/// What a resume would do, as a pure function of the log and the policy:
/// `velora resume --dry-run` prints it, and the same log gives the same plan.
public struct ResumePlan: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var model: String
        public var instanceID: String
        public var attempt: UInt32
        public var notBefore: Int64?
        public var job: String?
    }

    /// Attempts the log shows running: recorded interrupted first.
    public var interrupted: [Entry] = []
    /// Attempts the log shows running as Slurm jobs (a job id in `attemptStarted`), which
    /// outlive their runner: the resumed runner asks Slurm and re-attaches to them, records
    /// the outcome of those that ended, and records interrupted (and retries) those Slurm
    /// no longer knows.
    public var lookedUp: [Entry] = []
    /// Runs to start, in the order the scheduler takes them.
    public var starts: [Entry] = []

    public init(state: SessionState, policy: SchedulePolicy) {
        let order = Dictionary(uniqueKeysWithValues: (policy.models.isEmpty ? state.models : policy.models).enumerated().map { ($1, $0) })
        var pending: [(key: (Int, Int), entry: Entry)] = []
        for run in state.runs {
            let m = order[run.model] ?? Int.max
            let d = Int(run.queued.datasetIndex)
            let key = policy.mode == .parallel ? (d, m) : (m, d)
            switch run.status {
            case .running:
                guard let last = run.attempts.last else { continue }
                if let job = last.started.jobID {
                    lookedUp.append(Entry(model: run.model, instanceID: run.instanceID, attempt: last.number, job: job))
                    continue
                }
                interrupted.append(Entry(model: run.model, instanceID: run.instanceID, attempt: last.number))
                if policy.retry.retries(run, attempt: last.number, outcome: .interrupted, byRunner: true) {
                    pending.append((key, Entry(model: run.model, instanceID: run.instanceID, attempt: last.number + 1,
                                               notBefore: nil)))
                }
            case .queued:
                pending.append((key, Entry(model: run.model, instanceID: run.instanceID, attempt: 1)))
            case .retrying:
                pending.append((key, Entry(model: run.model, instanceID: run.instanceID, attempt: run.nextAttempt,
                                           notBefore: run.pendingRetry?.notBefore)))
            default:
                break
            }
        }
        starts = pending.sorted { $0.key < $1.key }.map(\.entry)
    }

    public var text: String {
        var out = ""
        if !interrupted.isEmpty {
            out += "record as interrupted (their runner is gone; leftover processes are killed first):\n"
            for e in interrupted { out += "  \(e.model)/\(e.instanceID) attempt \(e.attempt)\n" }
        }
        if !lookedUp.isEmpty {
            out += "ask Slurm about (re-attached if still running, outcome recorded if ended, interrupted and retried if unknown):\n"
            for e in lookedUp { out += "  \(e.model)/\(e.instanceID) attempt \(e.attempt) (job \(e.job ?? "?"))\n" }
        }
        if starts.isEmpty && !lookedUp.isEmpty {
            out += "nothing else to start until those jobs are looked up\n"
        } else if starts.isEmpty {
            out += "nothing to run: every run has its final outcome\n"
        } else {
            out += "start, in this order (\(starts.count) attempts):\n"
            for e in starts {
                out += "  \(e.model)/\(e.instanceID) attempt \(e.attempt)"
                if let nb = e.notBefore { out += " (not before \(isoTime(nb)))" }
                out += "\n"
            }
        }
        return out
    }
}
