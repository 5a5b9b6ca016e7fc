import Foundation
import Testing
import VeloraEvents
import VeloraTestSupport
@testable import VeloraCLI

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

@Suite struct InitTests {
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
        let original = try Dataset.load(path: data).allRows()
        #expect(try Dataset.load(path: dir.file("a.jsonl")).allRows() == Array(original.prefix(5)))
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
