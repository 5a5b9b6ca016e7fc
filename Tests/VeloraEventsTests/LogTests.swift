import Foundation
import Testing
import VeloraEvents
import VeloraTestSupport

/// Writes `kinds` to a new log with a fixed clock and returns its path.
func writeLog(_ dir: TempDir, name: String = "events.vlog", _ kinds: [EventKind]) throws -> String {
    let path = dir.file(name)
    let writer = try LogWriter(path: path, clock: { 1_764_763_200_000 })
    for kind in kinds { try writer.append(kind) }
    return path
}

/// Record boundaries of a log: the offset where each record starts, and the end.
func recordOffsets(_ path: String) throws -> [UInt64] {
    let reader = try LogReader(path: path)
    var offsets = [reader.goodOffset]
    while try reader.next() != nil { offsets.append(reader.goodOffset) }
    return offsets
}

func bytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

@Suite struct LogTests {
    @Test func writesHeaderAndReadsBack() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try writeLog(dir, sampleEventKinds())
        #expect(Array(bytes(path).prefix(14)) == Array("velora-log v1\n".utf8))
        let (events, tail) = try LogReader.readAll(path: path)
        #expect(tail == .clean)
        #expect(events.map(\.kind) == sampleEventKinds())
        #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
    }

    @Test func reopenContinuesTheSequence() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try writeLog(dir, Array(sampleEventKinds().prefix(3)))
        let writer = try LogWriter(path: path)
        let next = try writer.append(.sessionCompleted(SessionCompleted(runs: 1, succeeded: 1)))
        #expect(next.seq == 4)
        #expect(try LogReader.readAll(path: path).events.count == 4)
    }

    @Test func unsyncedAppendsAreVisibleAndASyncCoversThem() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("events.vlog")
        let writer = try LogWriter(path: path)
        try writer.appendUnsynced(Array(sampleEventKinds().prefix(3)))
        // A reader sees them at once (they were written, only not yet fsynced).
        #expect(try LogReader.readAll(path: path).events.count == 3)
        try writer.sync()
        try writer.append(.sessionCompleted(SessionCompleted(runs: 0, succeeded: 0)))
        try writer.appendUnsynced([.logRepaired(LogRepaired(offset: 1, droppedBytes: 2))])
        let events = try LogReader.readAll(path: path).events
        #expect(events.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(writer.fileSize == UInt64(bytes(path).count))
    }

    @Test func rejectsFilesThatAreNotLogs() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.write("x", "{\"not\": \"a log\"}\n")
        #expect(throws: EventsError.notAVeloraLog(path: path)) { try LogReader(path: path) }
        let newer = dir.write("y", "velora-log v9\n")
        #expect(throws: EventsError.unsupportedVersion(path: newer, version: 9)) { try LogReader(path: newer) }
    }

    /// Every cut inside the last three records: the reader returns exactly the
    /// whole records before the cut, the writer repairs, and the result replays clean.
    @Test func truncationAtEveryByteOfTheLastThreeRecords() throws {
        let dir = TempDir(); defer { dir.remove() }
        let kinds = sampleEventKinds()
        let original = try writeLog(dir, name: "original.vlog", kinds)
        let offsets = try recordOffsets(original)
        let full = bytes(original)
        let firstCut = offsets[offsets.count - 4]
        for cut in firstCut..<UInt64(full.count) {
            let path = dir.write("cut.vlog", bytes: Array(full[0..<Int(cut)]))
            let wholeBefore = offsets.lastIndex(where: { $0 <= cut })! // records fully before the cut
            let (events, tail) = try LogReader.readAll(path: path)
            #expect(events.count == wholeBefore, "cut at \(cut)")
            #expect(events.map(\.kind) == Array(kinds.prefix(wholeBefore)), "cut at \(cut)")
            if cut == offsets[wholeBefore] {
                #expect(tail == .clean, "cut at \(cut)")
            } else {
                #expect(tail == .torn(offset: offsets[wholeBefore], bytes: cut - offsets[wholeBefore]), "cut at \(cut)")
            }
            // The writer repairs and appends after the cut.
            let writer = try LogWriter(path: path, clock: { 0 })
            try writer.append(.sessionCompleted(SessionCompleted(runs: 0, succeeded: 0)))
            let (after, afterTail) = try LogReader.readAll(path: path)
            #expect(afterTail == .clean)
            #expect(after.map(\.seq) == Array(1...UInt64(after.count)), "cut at \(cut)")
            let repaired = cut != offsets[wholeBefore]
            #expect(after.count == wholeBefore + (repaired ? 2 : 1), "cut at \(cut)")
            if repaired {
                #expect(after[wholeBefore].kind == .logRepaired(LogRepaired(offset: offsets[wholeBefore],
                                                                             droppedBytes: cut - offsets[wholeBefore])))
            }
        }
    }

    @Test func zeroFilledTailIsTorn() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try writeLog(dir, Array(sampleEventKinds().prefix(4)))
        let withZeros = dir.write("zeros.vlog", bytes: bytes(path) + [UInt8](repeating: 0, count: 4096))
        let (events, tail) = try LogReader.readAll(path: withZeros)
        #expect(events.count == 4)
        #expect(tail == .torn(offset: UInt64(bytes(path).count), bytes: 4096))
    }

    /// A flipped bit anywhere in a record is reported at that record's offset;
    /// no wrong event is ever returned.
    @Test func singleBitFlipsAreDetected() throws {
        let dir = TempDir(); defer { dir.remove() }
        var kinds: [EventKind] = []
        for _ in 0..<4 { kinds += sampleEventKinds() }
        let original = try writeLog(dir, name: "original.vlog", kinds)
        let offsets = try recordOffsets(original)
        let full = bytes(original)
        let good = try LogReader.readAll(path: original).events
        var rng = SeededRandom(seed: 20261203)
        for trial in 0..<300 {
            let position = Int.random(in: LogFormat.header.count..<full.count, using: &rng)
            let bit = UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            var damaged = full
            damaged[position] ^= bit
            let path = dir.write("flip.vlog", bytes: damaged)
            let record = offsets.lastIndex(where: { $0 <= UInt64(position) })!
            let reader = try LogReader(path: path)
            var seen: [Event] = []
            do {
                while let event = try reader.next() { seen.append(event) }
                Issue.record("trial \(trial): flip at \(position) not detected")
            } catch {
                if case let .corruptRecord(_, offset, lastGoodSeq, _) = error {
                    #expect(offset == offsets[record], "trial \(trial): flip at \(position)")
                    #expect(lastGoodSeq == (record == 0 ? nil : UInt64(record)), "trial \(trial)")
                } else {
                    Issue.record("trial \(trial): unexpected \(error)")
                }
            }
            #expect(seen == Array(good.prefix(seen.count)), "trial \(trial): a wrong event was returned")
            #expect(seen.count == record, "trial \(trial)")
        }
    }

    @Test func scanReportsDamageAndResynchronizes() throws {
        let dir = TempDir(); defer { dir.remove() }
        let kinds = sampleEventKinds()
        let original = try writeLog(dir, name: "original.vlog", kinds)
        let offsets = try recordOffsets(original)
        var damaged = bytes(original)
        damaged[Int(offsets[3]) + 15] ^= 0x40
        damaged[Int(offsets[9]) + 2] ^= 0x01
        let path = dir.write("damaged.vlog", bytes: damaged)
        var events: [UInt64] = []
        var damage: [(UInt64, UInt64)] = []
        try LogReader(path: path).scan { item in
            switch item {
            case let .event(_, event): events.append(event.seq)
            case let .damaged(offset, length, _): damage.append((offset, length))
            }
        }
        #expect(damage.map(\.0) == [offsets[3], offsets[9]])
        #expect(damage.map(\.1) == [offsets[4] - offsets[3], offsets[10] - offsets[9]])
        #expect(events == (1...UInt64(kinds.count)).filter { $0 != 4 && $0 != 10 })
    }

    /// Many threads append at once: every event is present once, in sequence order.
    @Test func groupCommitWithConcurrentAppenders() async throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("events.vlog")
        let writer = try LogWriter(path: path)
        let threads = 8, perThread = 250
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<threads {
                group.addTask {
                    for i in 0..<perThread {
                        try writer.append(.runQueued(RunQueued(run: RunIndex(t * perThread + i), model: "m\(t)",
                                                               instanceID: "i\(i)", datasetIndex: UInt32(i), folder: "f")))
                    }
                }
            }
            try await group.waitForAll()
        }
        let (events, tail) = try LogReader.readAll(path: path)
        #expect(tail == .clean)
        #expect(events.map(\.seq) == Array(1...UInt64(threads * perThread)))
        var runs = Set<RunIndex>()
        var perModelOrder: [String: [String]] = [:]
        for event in events {
            guard case let .runQueued(q) = event.kind else { Issue.record("unexpected \(event)"); continue }
            runs.insert(q.run)
            perModelOrder[q.model, default: []].append(q.instanceID)
        }
        #expect(runs.count == threads * perThread)
        // Each thread's own appends keep their order.
        for (_, order) in perModelOrder { #expect(order == (0..<perThread).map { "i\($0)" }) }
    }

    @Test func compressedAndPlainLogsReadTheSame() throws {
        let dir = TempDir(); defer { dir.remove() }
        var kinds: [EventKind] = []
        for _ in 0..<200 { kinds += sampleEventKinds() }
        let path = try writeLog(dir, kinds)
        let plain = try LogReader.readAll(path: path)
        try LogWriter.compress(path: path)
        #expect(!fileExists(path))
        let gz = LogWriter.compressedPath(path)
        let compressed = try LogReader.readAll(path: gz)
        #expect(compressed.events == plain.events)
        #expect(try LogReader(path: gz).compressed)
        // zcat reads it back to the plain bytes.
        let zcat = Process()
        zcat.executableURL = URL(fileURLWithPath: "/bin/sh")
        zcat.arguments = ["-c", "zcat '\(gz)' > '\(dir.file("unzipped"))'"]
        try zcat.run()
        zcat.waitUntilExit()
        #expect(zcat.terminationStatus == 0)
        #expect(try LogReader.readAll(path: dir.file("unzipped")).events == plain.events)
        // A writer restores the plain log and continues.
        let writer = try LogWriter(path: path)
        #expect(writer.lastSeq == UInt64(kinds.count))
        #expect(!fileExists(gz))
    }
}
