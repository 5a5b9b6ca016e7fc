import Foundation
import VeloraTestSupport

/// One case of the suite: what it tried and what it found.
struct CaseResult: Sendable {
    let category: String
    let name: String
    var problems: [String] = []
    var leaked = 0
    var lost = 0
    var duplicated = 0
    var skipped: String?

    var passed: Bool { problems.isEmpty && skipped == nil }

    mutating func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { problems.append(message()) }
    }

    /// Takes in what a session audit found.
    mutating func absorb(_ audit: SessionAudit) {
        problems += audit.problems
        leaked += audit.leaked.count
        duplicated += audit.duplicated
    }
}

/// Every case's result, shared by the cases that run in parallel, and the final table.
final class Ledger: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [CaseResult] = []
    private var tallies: [String: Int] = [:]

    var all: [CaseResult] { lock.withLock { results } }

    /// Runs one case; an error it throws is one of its problems.
    func run(_ category: String, _ name: String, _ body: (inout CaseResult) throws -> Void) {
        var result = CaseResult(category: category, name: name)
        do { try body(&result) } catch { result.problems.append("error: \(error)") }
        lock.withLock { results.append(result) }
        if !result.passed && result.skipped == nil {
            print("reliability: FAILED \(category) / \(name): \(result.problems.prefix(5).joined(separator: "; "))")
        }
    }

    /// Adds to a figure printed under the table (what the cases did: kills, mutations...).
    func tally(_ name: String, _ amount: Int = 1) { lock.withLock { tallies[name, default: 0] += amount } }

    /// Raises a figure printed under the table to `value` if it is lower.
    func raise(_ name: String, to value: Int) { lock.withLock { tallies[name] = max(tallies[name] ?? value, value) } }

    /// Runs `count` cases with at most `width` at once.
    func parallel(_ count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let gate = DispatchSemaphore(value: width)
        let group = DispatchGroup()
        for index in 0..<count {
            gate.wait()
            DispatchQueue.global().async(group: group) {
                body(index)
                gate.signal()
            }
        }
        group.wait()
    }

    /// The table a user reads: per category, cases tried and passed, and the totals
    /// of leaked processes, lost events and duplicated runs.
    func table() -> String {
        let results = all
        var categories: [String] = []
        for r in results where !categories.contains(r.category) { categories.append(r.category) }
        var rows: [[String]] = [["category", "cases", "passed", "failed", "skipped", "leaked", "lost", "duplicated"]]
        func row(_ name: String, _ rs: [CaseResult]) -> [String] {
            [name, String(rs.count), String(rs.filter(\.passed).count),
             String(rs.filter { !$0.passed && $0.skipped == nil }.count), String(rs.filter { $0.skipped != nil }.count),
             String(rs.map(\.leaked).reduce(0, +)), String(rs.map(\.lost).reduce(0, +)), String(rs.map(\.duplicated).reduce(0, +))]
        }
        for c in categories { rows.append(row(c, results.filter { $0.category == c })) }
        rows.append(row("all", results))
        let widths = (0..<rows[0].count).map { col in rows.map { $0[col].count }.max() ?? 0 }
        var out = ""
        for (i, r) in rows.enumerated() {
            if i == rows.count - 1 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
            out += r.enumerated().map { col, text in
                col == 0 ? text.padding(toLength: widths[col], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[col] - text.count) + text
            }.joined(separator: "  ") + "\n"
        }
        for (name, value) in lock.withLock({ tallies }).sorted(by: { $0.key < $1.key }) { out += "\(name): \(value)\n" }
        for r in results where r.skipped != nil { out += "skipped: \(r.category) / \(r.name): \(r.skipped ?? "")\n" }
        for r in results where !r.passed && r.skipped == nil {
            out += "failed: \(r.category) / \(r.name):\n" + r.problems.prefix(10).map { "  - \($0)\n" }.joined()
        }
        return out
    }
}
