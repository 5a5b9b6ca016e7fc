import VeloraEvents
import VeloraRunner

struct SubsetCommand: VeloraCommand {
    static let spec = CommandSpec(
        name: "subset",
        summary: "makes a smaller dataset (rows byte for byte, in dataset order)",
        options: [
            OptionSpec("dataset", value: "FILE", help: "the dataset to choose from"),
            OptionSpec("ids", value: "LIST", help: "these instance ids, comma-separated"),
            OptionSpec("ids-file", value: "FILE", help: "instance ids, one per line"),
            OptionSpec("match", value: "REGEX", help: "ids matching this regular expression"),
            OptionSpec("sample", value: "N", help: "N instances chosen at random (with --seed)"),
            OptionSpec("seed", value: "S", help: "seed for --sample (default 0): the same seed gives the same sample"),
            OptionSpec("first", value: "N", help: "the first N instances"),
            OptionSpec("o", value: "FILE", help: "the output file (.jsonl, or .jsonl.gz to compress)"),
        ])

    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32 {
        func usage(_ m: String) -> UsageError { UsageError(message: "velora subset: \(m)") }
        guard let datasetPath = args.value("dataset") else { throw usage("--dataset FILE is required") }
        guard let out = args.value("o") else { throw usage("-o FILE (or --o FILE) is required") }
        let choosers = ["ids", "ids-file", "match", "sample", "first"].filter { args.value($0) != nil }
        guard choosers.count == 1 else {
            throw usage(choosers.isEmpty ? "choose with one of --ids, --ids-file, --match, --sample, --first"
                                         : "use only one of --\(choosers.joined(separator: ", --"))")
        }
        let dataset = try Dataset.load(path: absolutePath(datasetPath, base: console.cwd))
        var chosen: [Int]  // indices, in dataset order
        switch choosers[0] {
        case "ids", "ids-file":
            var ids: [String]
            if let list = args.value("ids") {
                ids = list.split(separator: ",").map(String.init)
            } else {
                let path = absolutePath(args.value("ids-file") ?? "", base: console.cwd)
                guard let bytes = try? readWholeFile(path) else { throw RunnerError.invalidInput("--ids-file: cannot read \(path)") }
                ids = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
            }
            let known = Set(dataset.instances.map(\.id))
            let missing = ids.filter { !known.contains($0) }
            if !missing.isEmpty {
                throw RunnerError.invalidInput("--\(choosers[0]): not in \(datasetPath): \(missing.prefix(10).joined(separator: ", "))\(missing.count > 10 ? ", ..." : "")")
            }
            let wanted = Set(ids)
            chosen = dataset.instances.indices.filter { wanted.contains(dataset.instances[$0].id) }
        case "match":
            let pattern = args.value("match") ?? ""
            let regex: Regex<AnyRegexOutput>
            do { regex = try Regex(pattern) } catch { throw RunnerError.invalidInput("--match: invalid regular expression \(pattern.debugDescription)") }
            chosen = dataset.instances.indices.filter { (try? regex.firstMatch(in: dataset.instances[$0].id)) != nil }
        case "sample":
            guard let n = Int(args.value("sample") ?? ""), n > 0 else { throw usage("--sample must be a positive integer") }
            guard let seed = UInt64(args.value("seed") ?? "0") else { throw usage("--seed must be a non-negative integer") }
            var rng = SplitMix64(seed: seed)
            var indices = Array(dataset.instances.indices)
            // Partial Fisher-Yates, then back to dataset order.
            for i in 0..<min(n, indices.count) {
                let j = i + Int(rng.next() % UInt64(indices.count - i))
                indices.swapAt(i, j)
            }
            chosen = indices.prefix(n).sorted()
        default:
            guard let n = Int(args.value("first") ?? ""), n > 0 else { throw usage("--first must be a positive integer") }
            chosen = Array(dataset.instances.indices.prefix(n))
        }
        guard !chosen.isEmpty else { throw RunnerError.invalidInput("the selection is empty: no instance matches") }
        try Dataset.writeJSONLines(chosen.map(dataset.row), to: absolutePath(out, base: console.cwd))
        console.err("velora: wrote \(chosen.count) of \(dataset.instances.count) instances to \(out)\n")
        return ExitCode.success
    }
}
