import VeloraEvents

/// `velora verify`: framing, checksums, sequence and legal transitions.
public struct Verification: Sendable {
    public enum Problem: Sendable, Equatable, CustomStringConvertible {
        case damaged(offset: UInt64, length: UInt64, detail: String)
        case finding(Finding)

        public var description: String {
            switch self {
            case let .damaged(offset, length, detail): "bytes \(offset)..<\(offset + length): damaged (\(detail))"
            case let .finding(f): f.description
            }
        }
    }

    public var events = 0
    public var problems: [Problem] = []
    public var tail: LogTail = .clean
    public var state = SessionState()

    /// Whether the log is sound (a torn tail is only a warning).
    public var isClean: Bool { problems.isEmpty }

    public static func verify(path: String) throws(EventsError) -> Verification {
        var v = Verification()
        let reader = try LogReader(path: path)
        do {
            try reader.scan { item in
                switch item {
                case let .event(_, event):
                    v.events += 1
                    v.state.apply(event)
                case let .damaged(offset, length, detail):
                    v.problems.append(.damaged(offset: offset, length: length, detail: detail))
                }
            }
        } catch let error as EventsError {
            throw error
        } catch {
            throw .io(path: path, operation: "read", errno: 5)
        }
        v.tail = reader.tail
        v.problems += v.state.findings.map(Problem.finding)
        return v
    }
}
