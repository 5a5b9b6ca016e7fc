import Foundation
import VeloraEvents
import VeloraReplay

/// A test agent with mixed, deterministic outcomes that counts its executions:
/// every execution appends MODEL/INSTANCE/ATTEMPT to $COUNT first. (It is an argv
/// element, so its literal braces are written `{{` and `}}`.)
public let countingAgent = """
echo "$VELORA_MODEL/$VELORA_INSTANCE_ID/$VELORA_ATTEMPT" >> "$COUNT"
case "$VELORA_INSTANCE_ID" in
  fail*) exit 3;;
  slow*) sleep 30;;
  flaky*) if [ "$VELORA_ATTEMPT" -lt 2 ]; then sleep 0.1; exit 1; fi;;
esac
sleep 0.2
printf '{{"info":{{"exit_status":"Submitted","submission":"diff","model_stats":{{"instance_cost":0.5,"api_calls":3}}}}}}' > "$VELORA_OUTPUT_DIR/run.traj.json"
"""

/// A marker put in the environment of every process a test session starts
/// (`--env VELORA_TEST_MARK=...`), so processes left behind can be found.
public struct ProcessMark: Sendable {
    public let value = "mark-\(UInt64.random(in: 0...UInt64.max))"

    public init() {}

    /// The `--env` flag that hands it to the agent.
    public var flag: [String] { ["--env", "VELORA_TEST_MARK=\(value)"] }

    /// Live processes that carry it.
    public var leftovers: [Int32] { processesWithEnvironment(containing: "VELORA_TEST_MARK=\(value)") }
}

/// A session of two models over instances whose names decide their outcome
/// (`fail*` fails, `slow*` times out, `flaky*` fails its first attempt, the rest
/// succeed), run by `countingAgent`. Every process it starts carries a marker in
/// its environment, so leftovers can be found.
public struct MixedSession: Sendable {
    public let dir: TempDir
    public let ids: [String]
    public let mark = ProcessMark()
    public let retryOn: String
    public let maxAttempts: Int
    public let timeout: String
    public var output: String { dir.file("out") }
    public var count: String { dir.file("count") }

    public init(ids: [String] = ["ok1", "fail1", "ok2", "flaky1", "ok3", "slow1", "ok4", "ok5"],
                retryOn: String = "failed,timed_out,interrupted", maxAttempts: Int = 4, timeout: String = "1s",
                label: String = "velora-session") {
        dir = TempDir(label)
        self.ids = ids
        self.retryOn = retryOn
        self.maxAttempts = maxAttempts
        self.timeout = timeout
    }

    public var runArgs: [String] {
        ["run", "--dataset", writeDataset(dir, ids), "--output", output, "--session", "s",
         "--model", "name=alpha", "--model", "name=beta", "--jobs", "4", "--timeout", timeout, "--kill-grace", "200ms",
         "--max-attempts", String(maxAttempts), "--retry-on", retryOn, "--backoff", "0", "--require", "*.traj.json",
         "--env", "COUNT=\(count)"] + mark.flag + ["--", "/bin/sh", "-c", countingAgent]
    }

    public var layout: SessionLayout { SessionLayout(root: output + "/s") }

    public func resume(_ extra: [String] = []) throws -> VeloraResult {
        try runVelora(["resume", "s", "--output", output] + extra, cwd: dir.path)
    }

    /// Executions per attempt key "model/instance/attempt".
    public var executions: [String: Int] {
        var counts: [String: Int] = [:]
        for line in lines(count) { counts[line, default: 0] += 1 }
        return counts
    }

    public var leftovers: [Int32] { mark.leftovers }

    /// The outcome an instance's name asks for.
    public static func expectedStatus(_ instanceID: String) -> RunStatus {
        instanceID.hasPrefix("fail") ? .failed : instanceID.hasPrefix("slow") ? .timedOut : .succeeded
    }

    /// Checks the promises every finished session keeps.
    public func audit(_ state: SessionState) -> SessionAudit {
        var audit = SessionAudit()
        if !state.completed { audit.problems.append("the session is not completed") }
        if !state.findings.isEmpty { audit.problems.append("replay findings: \(state.findings)") }
        let executions = self.executions
        for run in state.runs {
            let name = "\(run.model)/\(run.instanceID)"
            if !run.status.isTerminal { audit.problems.append("\(name) is \(run.status)") }
            for a in run.attempts {
                // An attempt number is never executed twice: nothing is re-run under the same attempt.
                let n = executions["\(name)/\(a.number)"] ?? 0
                if n > 1 {
                    audit.duplicated += n - 1
                    audit.problems.append("\(name) attempt \(a.number) ran \(n) times")
                }
            }
            if let won = run.attempts.firstIndex(where: { $0.outcome == .succeeded }) {
                // Nothing ran for this run after its success.
                let later = executions.filter { key, _ in
                    key.hasPrefix(name + "/") && (UInt32(key.split(separator: "/").last ?? "") ?? 0) > run.attempts[won].number
                }
                if won != run.attempts.count - 1 || !later.isEmpty {
                    audit.duplicated += max(1, later.values.reduce(0, +))
                    audit.problems.append("\(name) ran again after succeeding")
                }
            }
            // Deterministic outcomes (interrupted attempts do not use up a run's attempts).
            if run.status != Self.expectedStatus(run.instanceID) {
                audit.problems.append("\(name) ended \(run.status), expected \(Self.expectedStatus(run.instanceID))")
            }
        }
        audit.leaked = leftovers
        if !audit.leaked.isEmpty { audit.problems.append("leftover processes \(audit.leaked)") }
        return audit
    }
}

/// What `MixedSession.audit` found.
public struct SessionAudit: Sendable {
    public var problems: [String] = []
    public var duplicated = 0
    public var leaked: [Int32] = []
}
