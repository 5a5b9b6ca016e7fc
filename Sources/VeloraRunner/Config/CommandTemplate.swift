/// One argument of `command` with its placeholders (SPEC: "The command").
/// `{{` and `}}` are literal braces.
public struct CommandTemplate: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case text(String)
        case placeholder(String)
    }

    public struct TemplateError: Error, Equatable {
        public let message: String
    }

    public static let names = ["instance_id", "instance_file", "output_dir", "model", "attempt", "session", "session_dir"]

    public let parts: [Part]

    public init(_ text: String) throws(TemplateError) {
        var parts: [Part] = []
        var literal = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if c == "{" {
                if next < text.endIndex, text[next] == "{" {
                    literal.append("{")
                    i = text.index(after: next)
                    continue
                }
                guard let close = text[next...].firstIndex(of: "}") else {
                    throw TemplateError(message: "unclosed '{' (write {{ for a literal brace)")
                }
                let name = String(text[next..<close])
                guard Self.names.contains(name) || (name.hasPrefix("model.") && name.count > 6) else {
                    throw TemplateError(message: "unknown placeholder {\(name)} (known: \(Self.names.map { "{\($0)}" }.joined(separator: ", ")), {model.KEY})")
                }
                if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                parts.append(.placeholder(name))
                i = text.index(after: close)
                continue
            }
            if c == "}" {
                guard next < text.endIndex, text[next] == "}" else {
                    throw TemplateError(message: "stray '}' (write }} for a literal brace)")
                }
                literal.append("}")
                i = text.index(after: next)
                continue
            }
            literal.append(c)
            i = next
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        self.parts = parts
    }

    /// The model keys used through `{model.KEY}`.
    public var modelKeys: [String] {
        parts.compactMap {
            if case let .placeholder(name) = $0, name.hasPrefix("model.") { return String(name.dropFirst(6)) }
            return nil
        }
    }

    /// The argument with placeholders replaced; `values` has every name used.
    public func render(_ values: [String: String]) -> String {
        var out = ""
        for part in parts {
            switch part {
            case let .text(t): out += t
            case let .placeholder(name): out += values[name] ?? ""
            }
        }
        return out
    }
}
