import Foundation
import VeloraEvents
import VeloraReplay
import VeloraRunner
import VeloraTestSupport

/// A finished session's log as plain bytes, with the byte range of every record.
struct LogImage {
    let bytes: [UInt8]
    let records: [Range<Int>]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var records: [Range<Int>] = []
        var offset = LogFormat.header.count
        while offset + LogFormat.recordHeaderSize <= bytes.count {
            let length = Int(bytes[offset + 4]) | Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6]) << 16 | Int(bytes[offset + 7]) << 24
            let end = offset + LogFormat.recordHeaderSize + length
            guard end <= bytes.count else { break }
            records.append(offset..<end)
            offset = end
        }
        self.records = records
    }

    /// The record holding byte `offset` (nil for the file header).
    func record(at offset: Int) -> Range<Int>? { records.first { $0.contains(offset) } }
}

/// A scratch session folder holding only a log: what `verify` and `status` read.
struct LogCase {
    let dir: TempDir
    var root: String { dir.file("s") }
    var logPath: String { root + "/events/events.vlog" }

    init(_ label: String) {
        dir = TempDir(label)
        try? FileManager.default.createDirectory(atPath: root + "/events", withIntermediateDirectories: true)
    }

    /// Writes the log, plain or as the gzip file a finished session keeps.
    func write(_ bytes: [UInt8], compressed: Bool = false) {
        unlink(compressed ? logPath : logPath + ".gz")
        _ = FileManager.default.createFile(atPath: compressed ? logPath + ".gz" : logPath, contents: Data(bytes))
    }

    func verify() -> (code: Int32, out: String, err: String) { cli(["verify", root], cwd: dir.path) }
    /// `status --json`, with the clock's part (elapsed time of attempts the log shows running) taken out.
    func status() -> (code: Int32, out: String, err: String) {
        let r = cli(["status", root, "--json"], cwd: dir.path)
        let out = r.out.replacingOccurrences(of: #""(elapsed_s|eta_s)":[0-9.e+-]+"#, with: #""$1":-"#, options: .regularExpression)
        return (r.code, out, r.err)
    }
}

/// Truncation at every byte of the last records, seeded bit flips and random
/// overwrites of a real session's log: `verify` finds every damage with its
/// place, `status` is never silently wrong, torn tails repair and resume.
func logDamage(_ ledger: Ledger, flips: Int, overwrites: Int, compressedFlips: Int, tailRecords: Int) throws {
    let source = crashSession()
    defer { source.dir.remove() }
    var image = LogImage([])
    var compressed: [UInt8] = []
    var goodStatus = ""
    ledger.run("logs", "source session for the damage cases") { c in
        let r = try runVelora(source.runArgs, cwd: source.dir.path)
        c.check(r.code == 1, "exit \(r.code): \(r.stderr)")
        compressed = try readAllBytes(FileSource(path: source.layout.compressedLogPath))
        image = LogImage(try readAllBytes(GzipReader(path: source.layout.compressedLogPath)))
        c.check(image.records.count > 100, "only \(image.records.count) records")
        let scratch = LogCase("velora-rel-log")
        defer { scratch.dir.remove() }
        scratch.write(image.bytes)
        let status = scratch.status()
        c.check(status.code == 0 && scratch.verify().code == 0, "the undamaged log does not read: \(status.err)")
        goodStatus = status.out
    }
    let original = image, expectedStatus = goodStatus, gzipped = compressed
    guard original.records.count > tailRecords else { return }

    // Truncation: every cut point within the last records. `status` shows exactly the
    // whole records before the cut; `verify` warns of the torn tail and passes.
    ledger.run("logs", "truncation at each of the last \(original.bytes.count - original.records[original.records.count - tailRecords].lowerBound) bytes") { c in
        let cutCase = LogCase("velora-rel-cut"), boundaryCase = LogCase("velora-rel-cut")
        defer { cutCase.dir.remove(); boundaryCase.dir.remove() }
        var statusAtBoundary: [Int: String] = [:]
        for cut in original.records[original.records.count - tailRecords].lowerBound..<original.bytes.count {
            let whole = original.records.last { $0.upperBound <= cut }?.upperBound ?? LogFormat.header.count
            if statusAtBoundary[whole] == nil {
                boundaryCase.write(Array(original.bytes[0..<whole]))
                statusAtBoundary[whole] = boundaryCase.status().out
            }
            cutCase.write(Array(original.bytes[0..<cut]))
            // Replay reads exactly the whole records.
            let read = try LogReader.readAll(path: cutCase.logPath).events
            c.check(read.count == original.records.filter { $0.upperBound <= cut }.count, "cut at \(cut): \(read.count) events read")
            let verify = cutCase.verify()
            c.check(verify.code == 0, "cut at \(cut): verify exit \(verify.code): \(verify.out)")
            if cut != whole {
                c.check(verify.out.contains("torn tail of \(cut - whole) bytes at byte \(whole)"), "cut at \(cut): \(verify.out)")
            }
            let status = cutCase.status()
            if status.code != 0 || status.out != statusAtBoundary[whole] {
                c.lost += 1
                c.problems.append("cut at \(cut): status differs from the log's whole records (exit \(status.code) \(status.err)):"
                                  + "\n\(status.out)\nexpected\n\(statusAtBoundary[whole] ?? "-")")
            }
        }
    }

    // A torn tail repairs and the session resumes, for a sample of cut points.
    let cuts = stride(from: original.records[original.records.count - tailRecords].lowerBound + 1,
                      to: original.bytes.count, by: max(1, (original.bytes.count - original.records[original.records.count - tailRecords].lowerBound) / 6))
    for cut in cuts {
        ledger.run("logs", "torn tail at byte \(cut) repaired, then resumed") { c in
            let copy = TempDir("velora-rel-repair")
            defer { copy.remove() }
            let root = copy.file("s")
            _ = runCommand(["/bin/cp", "-a", source.layout.root, root])
            let layout = SessionLayout(root: root)
            unlink(layout.compressedLogPath)
            _ = FileManager.default.createFile(atPath: layout.logPath, contents: Data(original.bytes[0..<cut]))
            // The agent counts executions in the source's file: keep only this case's.
            let counted = try Data(contentsOf: URL(fileURLWithPath: source.count))
            defer { try? counted.write(to: URL(fileURLWithPath: source.count)) }
            let r = try runVelora(["resume", root], cwd: copy.path)
            c.check(r.code == 0 || r.code == 1, "resume exit \(r.code): \(r.stderr)")
            let after = try LogReader.readAll(path: layout.readableLogPath ?? "").events
            let state = SessionState(events: after)
            c.absorb(source.audit(state))
            let whole = original.records.last { $0.upperBound <= cut }?.upperBound ?? 0
            c.check(whole == cut || !state.repairs.isEmpty, "the torn tail was not recorded as repaired")
            let verify = cli(["verify", root], cwd: copy.path)
            c.check(verify.code == 0, "verify after resume: \(verify.out)")
        }
    }

    // Damage: bit flips and overwrites. `verify` names the damaged record; `status`
    // refuses (exit 4) or shows exactly the undamaged state.
    func damaged(_ name: String, _ count: Int, seed: UInt64, _ mutate: @escaping (inout [UInt8], inout SeededRandom) -> Range<Int>?) {
        ledger.run("logs", name) { c in
            let scratch = LogCase("velora-rel-damage")
            defer { scratch.dir.remove() }
            var rng = SeededRandom(seed: seed)
            var unchanged = 0
            for i in 0..<count {
                var bytes = original.bytes
                guard let range = mutate(&bytes, &rng) else { unchanged += 1; continue }
                scratch.write(bytes)
                let verify = scratch.verify()
                c.check(verify.code == 4, "#\(i) bytes \(range): verify exit \(verify.code): \(verify.out)")
                // The first damaged record (or the file header) is named by its byte range.
                let first = range.lowerBound < LogFormat.header.count ? nil : original.record(at: range.lowerBound)
                let named = first.map { verify.out.contains("bytes \($0.lowerBound)..<") }
                    ?? (verify.err.contains("bad header") || verify.err.contains("format version"))
                c.check(named, "#\(i) bytes \(range): verify does not name the damaged place: \(verify.out)")
                let status = scratch.status()
                if !(status.code == 4 || (status.code == 0 && status.out == expectedStatus)) {
                    c.lost += 1
                    c.problems.append("#\(i) bytes \(range): status exit \(status.code) shows a wrong state")
                }
            }
            ledger.tally("logs: damaged copies checked by verify and status", count - unchanged)
            c.check(unchanged < count / 10, "\(unchanged) of \(count) mutations changed nothing")
        }
    }
    // The compressed log of a finished session: zlib's checks find the damage (exit 4);
    // a flip in a gzip header field that carries no data (mtime, OS) changes nothing.
    ledger.run("logs", "\(compressedFlips) seeded bit flips in a compressed log") { c in
        let scratch = LogCase("velora-rel-gzdamage")
        defer { scratch.dir.remove() }
        var rng = SeededRandom(seed: 79)
        var harmless = 0
        for i in 0..<compressedFlips {
            var bytes = gzipped
            let offset = Int.random(in: 0..<bytes.count, using: &rng)
            bytes[offset] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
            scratch.write(bytes, compressed: true)
            let status = scratch.status()
            let unchanged = status.code == 0 && status.out == expectedStatus
            if !(status.code == 4 || unchanged) {
                c.lost += 1
                c.problems.append("#\(i) byte \(offset): status exit \(status.code) shows a wrong state")
            }
            let verify = scratch.verify()
            if verify.code == 0 && unchanged { harmless += 1; continue }
            // A flip in the gzip magic makes it no gzip file: then it is no velora log either.
            let said = verify.err + verify.out
            c.check(verify.code == 4 && (said.contains("damaged") || said.contains("bad header")),
                    "#\(i) byte \(offset): verify exit \(verify.code): \(verify.out) \(verify.err)")
        }
        ledger.tally("logs: damaged compressed copies checked", compressedFlips)
        c.check(harmless < compressedFlips / 10, "\(harmless) of \(compressedFlips) flips went unnoticed")
    }
    damaged("\(flips) seeded single-bit flips", flips, seed: 77) { bytes, rng in
        let offset = Int.random(in: 0..<bytes.count, using: &rng)
        bytes[offset] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
        return offset..<(offset + 1)
    }
    // Random bytes, and one overwrite in eight zeros (as a disk that lost a block
    // would); zeros never reach the end of the file here, where they would be a torn tail.
    damaged("\(overwrites) random overwrites of 1-64 bytes", overwrites, seed: 78) { bytes, rng in
        let zeros = Int.random(in: 0..<8, using: &rng) == 0
        let offset = Int.random(in: 0..<(bytes.count - 1), using: &rng)
        let length = min(Int.random(in: 1...64, using: &rng), bytes.count - 1 - offset)
        var changed: Int?
        for i in offset..<(offset + length) {
            let value = zeros ? 0 : UInt8.random(in: 0...255, using: &rng)
            if value != bytes[i] && changed == nil { changed = i }
            bytes[i] = value
        }
        return changed.map { $0..<(offset + length) }
    }
}
