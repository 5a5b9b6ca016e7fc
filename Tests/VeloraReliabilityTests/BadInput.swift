import Foundation
import VeloraEvents
import VeloraRunner
import VeloraTestSupport

/// One refused input: the files in the working folder, the `velora run` flags, and
/// the words the message must hold (naming the place: file and line, or key).
struct BadInput: Sendable {
    var files: [String: [UInt8]]
    var flags: [String]
    var message: String

    static let goodModels = #"[{"name": "opus", "llm": "x"}]"#

    /// A config file `velora.json` (the dataset d.jsonl beside it is good).
    static func config(_ json: String, _ flags: [String], _ message: String) -> BadInput {
        BadInput(files: ["velora.json": Array(json.utf8), "d.jsonl": Array("{\"instance_id\": \"a\"}\n".utf8),
                         "bad.jsonl": Array("{\"instance_id\": \"a\"}\n{\"id\": \"b\"}\n".utf8)],
                 flags: flags, message: message)
    }

    /// A dataset given by flag, with bytes.
    static func dataset(_ name: String, _ bytes: [UInt8], _ message: String) -> BadInput {
        BadInput(files: [name: bytes], flags: ["--dataset", name.hasSuffix("/") ? String(name.dropLast()) : name, "--model", "name=m", "--", "true"], message: message)
    }

    /// A dataset given by flag, with text.
    static func dataset(_ name: String, _ text: String, _ message: String) -> BadInput { dataset(name, Array(text.utf8), message) }

    /// A dataset file of the real data, given by flag.
    static func realDataset(_ relative: String, _ message: String) -> BadInput {
        BadInput(files: [:], flags: ["--dataset", fixture("realdata/" + relative), "--model", "name=m", "--", "true"], message: message)
    }
}

let gzipOfDataset: [UInt8] = {
    var text = ""
    for i in 0..<2000 { text += "{\"instance_id\": \"i\(i)\", \"problem_statement\": \"fix \(i)\"}\n" }
    let dir = TempDir("velora-rel-gz")
    defer { dir.remove() }
    let plain = dir.write("d.jsonl", text)
    _ = runCommand(["/bin/gzip", "-k", plain])
    return (try? readAllBytes(FileSource(path: plain + ".gz"))) ?? []
}()

let badInputs: [BadInput] = [
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "jbos": 2}"#, [], #"unknown key "jbos" (did you mean "jobs"?)"#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "jobs": "8"}"#, [], #""jobs": must be a positive integer, got the string "8""#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "jobs": 0}"#, [], #""jobs": must be a positive integer"#),
    .config(#"{"dataset": "d.jsonl", "command": "python x.py", "models": \#(BadInput.goodModels)}"#, [], #""command": must be an array of strings"#),
    .config(#"{"dataset": "d.jsonl", "command": [], "models": \#(BadInput.goodModels)}"#, [], #""command": must not be empty"#),
    .config(#"{"dataset": "d.jsonl", "command": ["run", "{instance}"], "models": \#(BadInput.goodModels)}"#, [], #""command[1]": unknown placeholder {instance}"#),
    .config(#"{"dataset": "d.jsonl", "command": ["run", "{model.key}"], "models": \#(BadInput.goodModels)}"#, [], #""command[1]": uses {model.key}, but model "opus" has no "key""#),
    .config(#"{"dataset": "d.jsonl", "command": ["run", "{oops"], "models": \#(BadInput.goodModels)}"#, [], #""command[1]": unclosed '{'"#),
    .config(#"{"dataset": "d.jsonl", "command": ["run", "a}b"], "models": \#(BadInput.goodModels)}"#, [], #""command[1]": stray '}'"#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": []}"#, [], #""models": must be a non-empty array"#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": [{"llm": "x"}]}"#, [], #""models[0]": has no "name""#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": [{"name": "a"}, {"name": "a"}]}"#, [], #"duplicate model name "a""#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "mode": "fast"}"#, [], #""mode": must be one of sequential, parallel, hybrid"#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "timeout": "2 hours"}"#, [], #""timeout": must be a duration"#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "retry": {"max_attempts": 2, "on": ["crashed"]}}"#, [], #""retry.on": unknown outcome "crashed""#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "retry": {"tries": 2}}"#, [], #"unknown key "retry.tries""#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "success": {"exit_codes": [300]}}"#, [], #""success.exit_codes": must be an integer in 0...255"#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "env": {"A": 1}}"#, [], #""env.A": must be a string"#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels), "executor": {"kind": "k8s"}}"#, [], #""executor.kind": must be "local" or "slurm""#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels)"#, [], "not valid JSON"),
    .config(#"["not", "an", "object"]"#, [], "the config must be a JSON object"),
    .config(#"{"command": ["true"], "models": \#(BadInput.goodModels)}"#, [], #""dataset": is required"#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels)}"#, ["--models", "opus,qwen"], #"--models: unknown model "qwen""#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels)}"#, ["--timeout", "soon"], #"--timeout: "soon" is not a duration"#),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels)}"#, ["--jobs", "-1"], "--jobs: must be a positive integer"),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels)}"#, ["--slurm-cpus", "2"], "--slurm-cpus: only applies with --executor slurm"),
    .config(#"{"dataset": "missing.jsonl", "command": ["true"], "models": \#(BadInput.goodModels)}"#, [], "missing.jsonl: no such file"),
    .config(#"{"dataset": "bad.jsonl", "command": ["true"], "models": \#(BadInput.goodModels)}"#, [], "bad.jsonl: line 2: missing \"instance_id\""),
    .config(#"{"dataset": "d.jsonl", "command": ["true"], "models": \#(BadInput.goodModels)}"#, ["--session", "../escape"], "--session: \"../escape\" is not a usable folder name"),
    .dataset("empty.jsonl", "", "empty.jsonl: empty dataset: no instances"),
    .dataset("blank.jsonl", "\n\n\n", "blank.jsonl: empty dataset"),
    .dataset("bom.jsonl", [0xEF, 0xBB, 0xBF] + Array("{\"instance_id\": \"a\"}\n".utf8), "bom.jsonl: line 1: the file starts with a UTF-8 byte order mark"),
    .dataset("cut.jsonl", "{\"instance_id\": \"a\"}\n{\"instance_id\": \"b\"\n", "cut.jsonl: line 2: not JSON"),
    .dataset("arr.jsonl", "{\"instance_id\": \"a\"}\n\n[\"c\"]\n", "arr.jsonl: line 3: not a JSON object (an array)"),
    .dataset("num.jsonl", "{\"instance_id\": 7}\n", "num.jsonl: line 1: \"instance_id\" is not a string (a number)"),
    .dataset("bool.jsonl", "{\"instance_id\": true}\n", "bool.jsonl: line 1: \"instance_id\" is not a string (a boolean)"),
    .dataset("null.jsonl", "{\"instance_id\": null}\n", "null.jsonl: line 1: \"instance_id\" is not a string (null)"),
    .dataset("emptyid.jsonl", "{\"instance_id\": \"\"}\n", "emptyid.jsonl: line 1: \"instance_id\" is empty"),
    .dataset("noid.jsonl", "{\"instance_id\": \"a\"}\n{\"id\": \"b\"}\n", "noid.jsonl: line 2: missing \"instance_id\""),
    .dataset("utf8.jsonl", Array("{\"instance_id\": \"a\"}\n{\"instance_id\": \"b".utf8) + [0xFF] + Array("\"}\n".utf8), "utf8.jsonl: line 2: invalid UTF-8"),
    .dataset("nul.jsonl", Array("{\"instance_id\": \"a\"}".utf8) + [0] + [0x0A], "nul.jsonl: line 1: not JSON"),
    .dataset("dup.jsonl", "{\"instance_id\": \"a\"}\n{\"instance_id\": \"b\"}\n{\"instance_id\": \"a\"}\n", "dup.jsonl: line 3: duplicate instance_id \"a\" (first on line 1, again on line 3)"),
    .dataset("scalar.jsonl", "42\n", "scalar.jsonl: line 1: not a JSON object (a number)"),
    .dataset("array.json", "[{\"instance_id\": \"a\"}, 3]", "array.json: index 1 (line 1): not a JSON object (a number)"),
    .dataset("open.json", "[{\"instance_id\": \"a\"},", "open.json: line 1: not JSON: the array is not closed"),
    .dataset("huge.jsonl", "{\"instance_id\": \"a\", \"n\": 1e400}\n", "huge.jsonl: line 1: not JSON"),
    .dataset("bad.jsonl.gz", [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 3] + Array("garbage-garbage".utf8), "bad.jsonl.gz: cannot be read: damaged gzip data (invalid"),
    .dataset("cut.jsonl.gz", Array(gzipOfDataset.prefix(300)), "cut.jsonl.gz: the gzip stream is cut short"),
    .dataset("missing.jsonl", [], "missing.jsonl: no such file"),
    .dataset("folder.jsonl/", [], "folder.jsonl: is a folder, not a dataset file"),
    .realDataset("datasets/sweagent_swe-bench-dev-easy.jsonl", "line 4: duplicate instance_id \"pylint-dev__astroid-1268\" (first on line 2, again on line 4)"),
    .realDataset("openhands/trimesh-2354.preds.json", "trimesh-2354.preds.json: line 1: not JSON: expected '[' to start the array of instances"),
    .realDataset("trajectories/swe-agent/demo_function_calling__marshmallow-code__marshmallow-1867.traj", "marshmallow-1867.traj: line 1: not JSON"),
]

/// Every bad input: exit 2, a message naming the place, nothing written.
func badInputCases(_ ledger: Ledger) {
    for (index, input) in badInputs.enumerated() {
        ledger.run("bad input", "#\(index): \(input.message.prefix(60))") { c in
            let dir = TempDir("velora-rel-bad")
            defer { dir.remove() }
            for (name, bytes) in input.files where name != "missing.jsonl" {
                // A name ending in "/" is a folder.
                if name.hasSuffix("/") { try FileManager.default.createDirectory(atPath: dir.file(name), withIntermediateDirectories: true) }
                else { _ = dir.write(name, bytes: bytes) }
            }
            let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            let r = try runVelora(["run"] + input.flags, cwd: dir.path)
            c.check(r.code == 2, "exit \(r.code): \(r.stderr)")
            c.check(r.stderr.contains(input.message), "message: \(r.stderr)")
            let after = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            c.check(after == before, "wrote \(Set(after).subtracting(before).sorted())")
            c.check(!fileExists(dir.path + "/../escape"), "wrote outside its folder")
        }
    }
}
