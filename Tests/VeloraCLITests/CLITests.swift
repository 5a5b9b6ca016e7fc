import Foundation
import Testing
import VeloraEvents
import VeloraTestSupport
@testable import VeloraCLI

/// Runs the CLI in-process with captured output.
func cli(_ args: [String], cwd: String) -> (code: Int32, out: String, err: String) {
    final class Box: @unchecked Sendable { var out = ""; var err = "" }
    let box = Box()
    let console = Console(out: { box.out += $0 }, err: { box.err += $0 }, isTerminal: false,
                          environment: ["PATH": "/usr/bin:/bin"], cwd: cwd)
    let code = VeloraCLI.run(args, console: console)
    return (code, box.out, box.err)
}

@Suite struct ParserTests {
    static let spec = CommandSpec(name: "demo", summary: "a demo", options: [
        OptionSpec("jobs", value: "N", help: "jobs"),
        OptionSpec("env", value: "K=V", repeatable: true, help: "env"),
        OptionSpec("json", help: "json"),
        OptionSpec("o", value: "FILE", help: "out"),
    ], positionals: [PositionalSpec("SESSION", optional: true, help: "s")], trailing: "CMD")

    @Test func parsesValuesFlagsPositionalsAndTrailing() throws {
        let p = try Self.spec.parse(["--jobs", "3", "--env=A=1", "--env", "B=2", "--json", "-o", "f", "s1", "--", "sh", "-c", "x"])
        #expect(p.value("jobs") == "3")
        #expect(p.all("env") == ["A=1", "B=2"])
        #expect(p.flag("json"))
        #expect(p.value("o") == "f")
        #expect(p.positionals["SESSION"] == "s1")
        #expect(p.trailing == ["sh", "-c", "x"])
    }

    @Test(arguments: [
        (["--jbos", "3"], "velora demo: unknown option --jbos (did you mean --jobs?); see velora demo --help"),
        (["--jobs"], "velora demo: --jobs needs a value (N)"),
        (["--jobs", "1", "--jobs", "2"], "velora demo: --jobs given more than once"),
        (["--json=yes"], "velora demo: --json takes no value"),
        (["a", "b"], "velora demo: unexpected argument \"b\""),
        (["-x"], "velora demo: unknown option -x; options start with -- (see velora demo --help)"),
    ])
    func usageErrorsNameTheFlag(args: [String], message: String) {
        #expect(throws: UsageError(message: message)) { try Self.spec.parse(args) }
    }

    @Test func helpListsEveryOption() {
        let help = Self.spec.help
        for name in ["--jobs N", "--env K=V", "--json", "-o FILE", "-h, --help", "SESSION"] {
            #expect(help.contains(name), "\(name) missing from help")
        }
    }

    @Test func everyCommandDocumentsEveryFlag() {
        for command in VeloraCLI.commands {
            let r = cli([command.spec.name, "--help"], cwd: "/")
            #expect(r.code == 0)
            for option in command.spec.options {
                #expect(r.out.contains(option.name.count == 1 ? "-\(option.name)" : "--\(option.name)"),
                        "\(command.spec.name) --help lacks --\(option.name)")
            }
        }
        #expect(cli(["run", "--help"], cwd: "/").out.contains("--kill-grace DURATION"))
    }
}

@Suite struct BadInputTests {
    static let goodModels = #"[{"name": "opus", "llm": "x"}]"#

    /// (config JSON, extra flags, expected message fragment). Every case: exit 2, nothing written.
    static let cases: [(String, [String], String)] = [
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "jbos": 2}"#, [], #"unknown key "jbos" (did you mean "jobs"?)"#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "jobs": "8"}"#, [], #""jobs": must be a positive integer, got the string "8""#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "jobs": 0}"#, [], #""jobs": must be a positive integer"#),
        (#"{"dataset": "d.jsonl", "command": "python x.py", "models": \#(goodModels)}"#, [], #""command": must be an array of strings"#),
        (#"{"dataset": "d.jsonl", "command": [], "models": \#(goodModels)}"#, [], #""command": must not be empty"#),
        (#"{"dataset": "d.jsonl", "command": ["run", "{instance}"], "models": \#(goodModels)}"#, [], #""command[1]": unknown placeholder {instance}"#),
        (#"{"dataset": "d.jsonl", "command": ["run", "{model.key}"], "models": \#(goodModels)}"#, [], #""command[1]": uses {model.key}, but model "opus" has no "key""#),
        (#"{"dataset": "d.jsonl", "command": ["run", "{oops"], "models": \#(goodModels)}"#, [], #""command[1]": unclosed '{'"#),
        (#"{"dataset": "d.jsonl", "command": ["run", "a}b"], "models": \#(goodModels)}"#, [], #""command[1]": stray '}'"#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": []}"#, [], #""models": must be a non-empty array"#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": [{"llm": "x"}]}"#, [], #""models[0]": has no "name""#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": [{"name": "a"}, {"name": "a"}]}"#, [], #"duplicate model name "a""#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "mode": "fast"}"#, [], #""mode": must be one of sequential, parallel, hybrid"#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "timeout": "2 hours"}"#, [], #""timeout": must be a duration"#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "retry": {"max_attempts": 2, "on": ["crashed"]}}"#, [], #""retry.on": unknown outcome "crashed""#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "retry": {"tries": 2}}"#, [], #"unknown key "retry.tries""#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "success": {"exit_codes": [300]}}"#, [], #""success.exit_codes": must be an integer in 0...255"#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "env": {"A": 1}}"#, [], #""env.A": must be a string"#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels), "executor": {"kind": "k8s"}}"#, [], #""executor.kind": must be "local" or "slurm""#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels)"#, [], "not valid JSON"),
        (#"["not", "an", "object"]"#, [], "the config must be a JSON object"),
        (#"{"command": ["true"], "models": \#(goodModels)}"#, [], #""dataset": is required"#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels)}"#, ["--models", "opus,qwen"], #"--models: unknown model "qwen""#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels)}"#, ["--timeout", "soon"], #"--timeout: "soon" is not a duration"#),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels)}"#, ["--jobs", "-1"], "--jobs: must be a positive integer"),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels)}"#, ["--slurm-cpus", "2"], "--slurm-cpus: only applies with --executor slurm"),
        (#"{"dataset": "missing.jsonl", "command": ["true"], "models": \#(goodModels)}"#, [], "missing.jsonl: no such file"),
        (#"{"dataset": "bad.jsonl", "command": ["true"], "models": \#(goodModels)}"#, [], "bad.jsonl: line 2: missing \"instance_id\""),
        (#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(goodModels)}"#, ["--session", "../escape"], "--session: \"../escape\" is not a usable folder name"),
    ]

    @Test(arguments: cases.indices)
    func refusedWithExit2AndNothingWritten(index: Int) throws {
        let (json, flags, fragment) = Self.cases[index]
        let dir = TempDir("velora-bad"); defer { dir.remove() }
        _ = writeDataset(dir, ["a", "b"], name: "d.jsonl")
        _ = dir.write("bad.jsonl", "{\"instance_id\": \"a\"}\n{\"id\": \"b\"}\n")
        _ = writeConfig(dir, json)
        let r = cli(["run"] + flags, cwd: dir.path)
        #expect(r.code == 2, "case \(index): \(r.err)")
        #expect(r.err.contains(fragment), "case \(index): \(r.err)")
        #expect(!fileExists(dir.file("velora-sessions")), "case \(index) created a session folder")
    }

    @Test func realDatasetWithDuplicateIdIsRefused() throws {
        let dir = TempDir("velora-bad"); defer { dir.remove() }
        let data = fixture("realdata/datasets/sweagent_swe-bench-dev-easy.jsonl")
        let r = cli(["run", "--dataset", data, "--model", "name=m", "--output", dir.file("out"), "--", "true"], cwd: dir.path)
        #expect(r.code == 2)
        #expect(r.err.contains("duplicate instance_id \"pylint-dev__astroid-1268\" (first on line 2, again on line 4)"))
        #expect(!fileExists(dir.file("out")))
    }

    @Test func initPresetsAreValidConfigs() throws {
        for agent in ["script", "mini-swe-agent", "swe-agent", "openhands"] {
            let dir = TempDir("velora-init"); defer { dir.remove() }
            let r = cli(["init", "--agent", agent], cwd: dir.path)
            #expect(r.code == 0, "\(agent): \(r.err)")
            #expect(fileExists(dir.file("velora.json")))
            #expect(cli(["init", "--agent", agent], cwd: dir.path).code == 2)  // no overwrite without --force
        }
    }
}

@Suite struct SubsetTests {
    let data = fixture("realdata/datasets/multi_swe_bench_java_128.openhands_processed.jsonl")

    func rows(_ path: String) throws -> [String] { try Dataset.load(path: path).instances.map(\.id) }

    @Test func firstMatchIdsAndSample() throws {
        let dir = TempDir("velora-subset"); defer { dir.remove() }
        let all = try rows(data)
        #expect(cli(["subset", "--dataset", data, "--first", "5", "-o", dir.file("a.jsonl")], cwd: dir.path).code == 0)
        #expect(try rows(dir.file("a.jsonl")) == Array(all.prefix(5)))
        #expect(cli(["subset", "--dataset", data, "--match", "logstash", "-o", dir.file("b.jsonl")], cwd: dir.path).code == 0)
        #expect(try rows(dir.file("b.jsonl")) == all.filter { $0.contains("logstash") })
        #expect(try rows(dir.file("b.jsonl")).count == 38)
        let ids = [all[7], all[3]]
        #expect(cli(["subset", "--dataset", data, "--ids", ids.joined(separator: ","), "-o", dir.file("c.jsonl.gz")], cwd: dir.path).code == 0)
        #expect(try rows(dir.file("c.jsonl.gz")) == [all[3], all[7]])
        #expect(cli(["subset", "--dataset", data, "--sample", "10", "--seed", "4", "-o", dir.file("d.jsonl")], cwd: dir.path).code == 0)
        #expect(cli(["subset", "--dataset", data, "--sample", "10", "--seed", "4", "-o", dir.file("e.jsonl")], cwd: dir.path).code == 0)
        let sample = try rows(dir.file("d.jsonl"))
        let again = try rows(dir.file("e.jsonl"))
        #expect(sample.count == 10 && sample == again)
        #expect(sample == all.filter(sample.contains))  // dataset order
        // Rows pass through byte for byte.
        let original = try Dataset.load(path: data).instances
        #expect(try Dataset.load(path: dir.file("a.jsonl")).instances.map(\.raw) == original.prefix(5).map(\.raw))
    }

    @Test func unknownIdsAndEmptySelectionsAreRefused() {
        let dir = TempDir("velora-subset"); defer { dir.remove() }
        let r = cli(["subset", "--dataset", data, "--ids", "nope__nope-1", "-o", dir.file("x.jsonl")], cwd: dir.path)
        #expect(r.code == 2 && r.err.contains("nope__nope-1"))
        #expect(cli(["subset", "--dataset", data, "--match", "^zzz", "-o", dir.file("x.jsonl")], cwd: dir.path).code == 2)
        #expect(cli(["subset", "--dataset", data, "--first", "2", "--sample", "1", "-o", dir.file("x.jsonl")], cwd: dir.path).code == 2)
        #expect(!fileExists(dir.file("x.jsonl")))
    }
}
