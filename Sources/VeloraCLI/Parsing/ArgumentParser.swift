import VeloraRunner

/// A small declarative argument parser: a command declares its options and
/// positionals once; parsing, errors and `--help` all come from that declaration.
public struct OptionSpec: Sendable {
    public let name: String
    /// The value's placeholder in help (`FILE`); nil for a flag without a value.
    public let value: String?
    public let repeatable: Bool
    public let help: String

    public init(_ name: String, value: String? = nil, repeatable: Bool = false, help: String) {
        self.name = name
        self.value = value
        self.repeatable = repeatable
        self.help = help
    }
}

public struct PositionalSpec: Sendable {
    public let name: String
    public let optional: Bool
    public let help: String

    public init(_ name: String, optional: Bool = false, help: String) {
        self.name = name
        self.optional = optional
        self.help = help
    }
}

public struct CommandSpec: Sendable {
    public let name: String
    public let summary: String
    public let options: [OptionSpec]
    public let positionals: [PositionalSpec]
    /// Whether words after `--` are kept (e.g. a command to run).
    public let trailing: String?
    public let details: String?

    public init(name: String, summary: String, options: [OptionSpec], positionals: [PositionalSpec] = [],
                trailing: String? = nil, details: String? = nil) {
        self.name = name
        self.summary = summary
        self.options = options
        self.positionals = positionals
        self.trailing = trailing
        self.details = details
    }

    /// The `--help` text.
    public var help: String {
        var usage = "usage: velora \(name)"
        for p in positionals { usage += p.optional ? " [\(p.name)]" : " \(p.name)" }
        if !options.isEmpty { usage += " [options]" }
        if let trailing { usage += " [-- \(trailing)]" }
        var lines = [usage, "", summary]
        if !positionals.isEmpty {
            lines += ["", "arguments:"]
            for p in positionals { lines.append(row(p.name, p.help)) }
        }
        lines += ["", "options:"]
        for o in options {
            var left = o.name.count == 1 ? "-\(o.name)" : "--\(o.name)"
            if let v = o.value { left += " \(v)" }
            lines.append(row(left, o.help + (o.repeatable ? " (repeatable)" : "")))
        }
        lines.append(row("-h, --help", "show this help"))
        if let details { lines += ["", details] }
        return lines.joined(separator: "\n") + "\n"
    }

    func row(_ left: String, _ right: String) -> String {
        let pad = left.count < 26 ? String(repeating: " ", count: 26 - left.count) : "\n" + String(repeating: " ", count: 28)
        return "  " + left + pad + right
    }
}

/// A usage error: the message names the flag or argument.
public struct UsageError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// What was given on the command line.
public struct ParsedArguments: Sendable, Equatable {
    public var values: [String: [String]] = [:]
    public var flags: Set<String> = []
    public var positionals: [String: String] = [:]
    public var trailing: [String] = []
    public var helpRequested = false

    public func value(_ name: String) -> String? { values[name]?.last }
    public func all(_ name: String) -> [String] { values[name] ?? [] }
    public func flag(_ name: String) -> Bool { flags.contains(name) }
}

extension CommandSpec {
    public func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        var result = ParsedArguments()
        var positional: [String] = []
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if arg == "--" {
                guard trailing != nil else { throw UsageError(message: "velora \(name): unexpected '--'") }
                result.trailing = Array(arguments[i...])
                break
            }
            if arg == "-h" || arg == "--help" {
                result.helpRequested = true
                continue
            }
            if arg.hasPrefix("--") {
                var key = String(arg.dropFirst(2))
                var inline: String?
                if let eq = key.firstIndex(of: "=") {
                    inline = String(key[key.index(after: eq)...])
                    key = String(key[..<eq])
                }
                guard let option = options.first(where: { $0.name == key }) else {
                    let hint = options.map(\.name).first { similar($0, key) }.map { " (did you mean --\($0)?)" } ?? ""
                    throw UsageError(message: "velora \(name): unknown option --\(key)\(hint); see velora \(name) --help")
                }
                if option.value == nil {
                    if inline != nil { throw UsageError(message: "velora \(name): --\(key) takes no value") }
                    result.flags.insert(key)
                    continue
                }
                let value: String
                if let inline { value = inline } else {
                    guard i < arguments.count else {
                        throw UsageError(message: "velora \(name): --\(key) needs a value (\(option.value ?? "VALUE"))")
                    }
                    value = arguments[i]
                    i += 1
                }
                if !option.repeatable, result.values[key] != nil {
                    throw UsageError(message: "velora \(name): --\(key) given more than once")
                }
                result.values[key, default: []].append(value)
                continue
            }
            if arg.count == 2, arg.hasPrefix("-"), let option = options.first(where: { $0.name == String(arg.dropFirst()) }) {
                // A one-letter option is also written with one dash (`-o FILE`).
                guard option.value != nil, i < arguments.count else {
                    throw UsageError(message: "velora \(name): \(arg) needs a value (\(option.value ?? "VALUE"))")
                }
                result.values[option.name, default: []].append(arguments[i])
                i += 1
                continue
            }
            if arg.hasPrefix("-") && arg.count > 1 && Double(arg) == nil {
                throw UsageError(message: "velora \(name): unknown option \(arg); options start with -- (see velora \(name) --help)")
            }
            positional.append(arg)
        }
        if result.helpRequested { return result }
        guard positional.count <= positionals.count else {
            throw UsageError(message: "velora \(name): unexpected argument \(positional[positionals.count].debugDescription)")
        }
        for (index, spec) in positionals.enumerated() {
            if index < positional.count {
                result.positionals[spec.name] = positional[index]
            } else if !spec.optional {
                throw UsageError(message: "velora \(name): missing \(spec.name)")
            }
        }
        return result
    }

    func similar(_ a: String, _ b: String) -> Bool {
        a.hasPrefix(b) || b.hasPrefix(a) || editDistance(a, b) <= 2
    }
}
