import Foundation
import Testing
import VeloraEvents
import VeloraTestSupport

@Suite struct CodecTests {
    @Test(arguments: sampleEventKinds().enumerated().map { $0 })
    func roundTripsEveryKind(index: Int, kind: EventKind) throws {
        let event = Event(seq: UInt64(index + 1), time: 1_764_763_200_123 - Int64(index) * 1000, kind: kind)
        let payload = event.encodedPayload()
        let decoded = try payload.withUnsafeBytes { try Event.decode(code: kind.code, payload: $0) }
        #expect(decoded == event)
    }

    @Test func negativeTimesAndLargeNumbersSurvive() throws {
        let event = Event(seq: .max, time: -5, kind: .attemptStarted(AttemptStarted(
            run: .max, attempt: .max, executor: "", pid: .min, pgid: .max, host: "", argv: [], outputDir: "", timeoutMs: .max)))
        let decoded = try event.encodedPayload().withUnsafeBytes { try Event.decode(code: 3, payload: $0) }
        #expect(decoded == event)
    }

    @Test func unknownFieldsAreSkipped() throws {
        // A newer velora adds field 50 to runQueued: this one still reads the rest.
        var payload = Event(seq: 3, time: 7, kind: .runQueued(RunQueued(run: 1, model: "m", instanceID: "i",
                                                                       datasetIndex: 2, folder: "f"))).encodedPayload()
        payload += [0x92, 0x03, 0x02, 0x41, 0x42]  // field 50, bytes, "AB"
        payload += [0x98, 0x03, 0x05]  // field 51, varint 5
        let decoded = try payload.withUnsafeBytes { try Event.decode(code: 2, payload: $0) }
        #expect(decoded.kind == .runQueued(RunQueued(run: 1, model: "m", instanceID: "i", datasetIndex: 2, folder: "f")))
    }

    /// Regenerates the fixture (only when asked: the checked-in file is the point).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VELORA_WRITE_FIXTURES"] != nil))
    func writeV1Fixture() throws {
        let path = fixture("logs/v1-every-kind.vlog")
        unlink(path)
        let writer = try LogWriter(path: path, clock: { 1_764_763_200_000 })
        for kind in sampleEventKinds().prefix(15) { try writer.append(kind) }
    }

    @Test func oldVersionFixtureStillReads() throws {
        // Written by velora's first log format (v1); must stay readable by every later velora.
        let (events, tail) = try LogReader.readAll(path: fixture("logs/v1-every-kind.vlog"))
        #expect(tail == .clean)
        #expect(events.count == 15)
        #expect(events.map(\.kind) == Array(sampleEventKinds().prefix(15)))
        #expect(events.map(\.seq) == Array(1...15))
    }
}
