import Foundation
import Testing
import VeloraTestSupport

/// The reliability suite (issue 8): tries to break velora's promises at volume
/// and prints what it tried and what survived. `scripts/reliability [--long]`
/// runs it alone; `scripts/test` runs it after the other tests.
@Suite struct ReliabilitySuite {
    /// `VELORA_RELIABILITY_LONG=1` (scripts/reliability --long) runs more trials.
    static let long = ProcessInfo.processInfo.environment["VELORA_RELIABILITY_LONG"] == "1"
    /// `VELORA_RELIABILITY_ONLY=logs,concurrency` (scripts/reliability --only) runs some sections.
    static let only = ProcessInfo.processInfo.environment["VELORA_RELIABILITY_ONLY"].map { $0.split(separator: ",").map(String.init) }

    @Test func everyPromiseUnderAttack() throws {
        let ledger = Ledger()
        let started = Date()
        func section(_ name: String, _ body: () throws -> Void) rethrows {
            if let only = Self.only, !only.contains(where: { name.hasPrefix($0) }) { return }
            let t0 = Date()
            try body()
            print("reliability: \(name) done in \(Int(Date().timeIntervalSince(t0))) s")
        }
        try section("crashes") { try crashTrials(ledger, trials: Self.long ? 200 : 50) }
        try section("logs") { try logDamage(ledger, flips: Self.long ? 5000 : 500, overwrites: Self.long ? 1000 : 100,
                                                 compressedFlips: Self.long ? 1000 : 100, tailRecords: 3) }
        section("hostile agents") { hostileAgentCases(ledger) }
        section("bad input") { badInputCases(ledger) }
        section("full disk and lost files") {
            fullDiskCase(ledger)
            lostFileCases(ledger)
        }
        section("concurrency") { concurrencyCases(ledger, races: Self.long ? 20 : 5) }

        let table = ledger.table()
        print("\nvelora reliability suite (\(Self.long ? "long" : "standard"), \(Int(Date().timeIntervalSince(started))) s)\n" + table)
        let results = ledger.all
        for r in results where !r.passed && r.skipped == nil {
            Issue.record("\(r.category) / \(r.name): \(r.problems.prefix(5).joined(separator: "; "))")
        }
        #expect(results.map(\.leaked).reduce(0, +) == 0, "processes leaked")
        #expect(results.map(\.lost).reduce(0, +) == 0, "events lost")
        #expect(results.map(\.duplicated).reduce(0, +) == 0, "runs duplicated")
        // A skipped case (the full disk needs root and a tmpfs mount) is printed with its reason, not failed.
    }
}
