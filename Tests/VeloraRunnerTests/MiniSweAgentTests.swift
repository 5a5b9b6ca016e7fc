import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

/// mini-swe-agent, a real agent, through velora, offline: its deterministic model
/// and local environment (scripts/mini-swe-agent/install makes the venv).
let msweaVenv = ProcessInfo.processInfo.environment["VELORA_MSWEA_VENV"]
    ?? (NSHomeDirectory() + "/.cache/velora/mini-swe-agent-venv")
let msweaAvailable = FileManager.default.isExecutableFile(atPath: msweaVenv + "/bin/mini-extra")

struct MiniSession {
    let dir = TempDir("velora-mswea")
    let fixtures = fixture("mini-swe-agent")
    var output: String { dir.file("out") }
    var count: String { dir.file("count") }
    var layout: SessionLayout { SessionLayout(root: output + "/s") }

    /// Three "models", each a deterministic-model config: one submits a patch,
    /// one hits its step limit, one raises mid-run.
    func config(models: [(String, String)], timeout: String = "2m", jobs: Int = 4, maxAttempts: Int = 1) throws -> String {
        let repo = dir.file("repo")
        let make = Process()
        make.executableURL = URL(fileURLWithPath: fixtures + "/make_repo.sh")
        make.arguments = [repo]
        make.standardOutput = FileHandle.nullDevice
        try make.run()
        make.waitUntilExit()
        let list = models.map { "{\"name\": \"\($0.0)\", \"config\": \"\(fixtures)/\($0.1)\"}" }.joined(separator: ", ")
        // Each execution is counted before the real agent starts.
        let wrapper = "echo \"$VELORA_MODEL/$VELORA_INSTANCE_ID/$VELORA_ATTEMPT\" >> \"$COUNT\"; exec \"$0\" \"$@\""
        return writeConfig(dir, """
        {"dataset": "\(fixtures)/instances.jsonl", "output": "\(output)", "models": [\(list)],
         "command": ["/bin/sh", "-c", \(jsonString(wrapper)), "\(fixtures)/run_agent.sh", "{model.config}", "\(repo)"],
         "mode": "parallel", "jobs": \(jobs), "timeout": "\(timeout)", "kill_grace": "2s",
         "retry": {"max_attempts": \(maxAttempts), "on": ["interrupted"], "backoff": "0s"},
         "success": {"exit_codes": [0], "require": ["*.traj.json"]},
         "env": {"COUNT": "\(count)", "VELORA_MSWEA_VENV": "\(msweaVenv)"}}
        """)
    }
}

@Suite(.serialized, .enabled(if: msweaAvailable || requireAll)) struct MiniSweAgentTests {
    @Test func realAgentSessionRecordsOutcomesMetricsAndPatches() throws {
        try #require(msweaAvailable, "mini-swe-agent is not installed: scripts/mini-swe-agent/install")
        let s = MiniSession(); defer { s.dir.remove() }
        let config = try s.config(models: [("submitter", "submit.yaml"), ("limited", "steplimit.yaml"), ("raiser", "raise.yaml")])
        let r = try runVelora(["run", "--config", config, "--session", "s"], cwd: s.dir.path, timeLimit: 600)
        #expect(r.code == 1, "\(r.stderr)")
        let state = try foldSession(s.layout)
        #expect(state.runs.count == 12)
        for run in state.runs {
            let a = try #require(run.attempts.last)
            let m = a.metrics
            #expect(m?.format == "mini-swe-agent")
            switch run.model {
            case "submitter":
                #expect(run.status == .succeeded)
                #expect(m?.exitStatus == "Submitted")
                #expect(m?.submitted == true)
                #expect(fileExists(s.layout.root + "/" + a.started.outputDir + "/patch.diff"))
            case "limited":
                #expect(run.status == .succeeded)
                #expect(m?.exitStatus == "LimitsExceeded")
                #expect(m?.submitted == false)
            default:
                #expect(run.status == .failed)
                #expect(a.ended?.exitCode == 1)
                #expect(m?.exitStatus == "IndexError")
            }
        }
        // API calls and cost, summed per model in the reports.
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.layout.reportsDir + "/summary.json"))) as? [String: Any]
        let models = try #require(summary?["models"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: models.map { ($0["model"] as? String ?? "", $0) })
        #expect(byName["submitter"]?["api_calls"] as? Int == 12)
        #expect(byName["limited"]?["api_calls"] as? Int == 8)
        #expect((byName["submitter"]?["cost"] as? Double).map { abs($0 - 3.0) < 1e-9 } == true)
        #expect(byName["raiser"]?["patches_submitted"] as? Int == 0)
        // Each attempt worked on its own copy of the repo: the original is untouched.
        let status = Process()
        status.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        status.arguments = ["-C", s.dir.file("repo"), "status", "--porcelain"]
        let pipe = Pipe()
        status.standardOutput = pipe
        try status.run()
        status.waitUntilExit()
        #expect(pipe.fileHandleForReading.readDataToEndOfFile().isEmpty)
    }

    /// mini-swe-agent starts its commands in a new session: killing its process
    /// group leaves the `sleep` running. velora must still leave nothing behind.
    @Test func timedOutAgentLeavesNoProcessBehind() throws {
        try #require(msweaAvailable, "mini-swe-agent is not installed: scripts/mini-swe-agent/install")
        let s = MiniSession(); defer { s.dir.remove() }
        let config = try s.config(models: [("sleeper", "sleep.yaml")], timeout: "8s")
        let r = try runVelora(["run", "--config", config, "--session", "s", "--dataset",
                               s.fixtures + "/instances.jsonl"], cwd: s.dir.path, timeLimit: 300)
        #expect(r.code == 1, "\(r.stderr)")
        let state = try foldSession(s.layout)
        #expect(state.runs.allSatisfy { $0.status == .timedOut })
        // Every process of the session carried its output folder in its environment.
        #expect(processesWithEnvironment(containing: "VELORA_SESSION_DIR=\(s.layout.root)").isEmpty)
    }

    @Test func crashThroughARealAgentThenResume() throws {
        try #require(msweaAvailable, "mini-swe-agent is not installed: scripts/mini-swe-agent/install")
        let s = MiniSession(); defer { s.dir.remove() }
        let config = try s.config(models: [("submitter", "submit.yaml"), ("limited", "steplimit.yaml")], jobs: 2, maxAttempts: 2)
        let p = try startVelora(["run", "--config", config, "--session", "s"], cwd: s.dir.path)
        #expect(waitUntil(120) { (try? quietFold(s.layout))?.runs.filter { $0.status == .succeeded }.count ?? 0 >= 2 })
        p.signal(SIGKILL)
        _ = p.wait()
        let r = try runVelora(["resume", "s", "--output", s.output], cwd: s.dir.path, timeLimit: 600)
        #expect(r.code == 0, "\(r.stderr)")
        let state = try foldSession(s.layout)
        #expect(state.completed)
        #expect(state.runs.allSatisfy { $0.status == .succeeded })
        var executions: [String: Int] = [:]
        for line in lines(s.count) { executions[line, default: 0] += 1 }
        for run in state.runs {
            let won = try #require(run.attempts.last)
            #expect(executions["\(run.model)/\(run.instanceID)/\(won.number)"] == 1)
            let later = executions.keys.filter { $0.hasPrefix("\(run.model)/\(run.instanceID)/") && $0 > "\(run.model)/\(run.instanceID)/\(won.number)" }
            #expect(later.isEmpty)
        }
        #expect(processesWithEnvironment(containing: "VELORA_SESSION_DIR=\(s.layout.root)").isEmpty)
    }
}
