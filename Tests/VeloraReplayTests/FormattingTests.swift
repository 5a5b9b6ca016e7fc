import Foundation
import Testing
@testable import VeloraReplay
import VeloraTestSupport

/// Report formatting that is written without Foundation or libc for speed,
/// checked against the libc-based definitions.
@Suite struct FormattingTests {
    /// gmtime_r's fields, as isoTime printed them before it had its own calendar arithmetic.
    static func reference(_ ms: Int64) -> String {
        var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let millis = Int((ms % 1000 + 1000) % 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }

    @Test func isoTimeMatchesGmtime() {
        var rng = SeededRandom(seed: 11)
        var values: [Int64] = [0, 999, 1000, 86_399_999, 86_400_000, 951_782_400_000, 4_107_542_400_000,
                               253_402_300_799_999, 1_764_780_258_123]
        for _ in 0..<20_000 { values.append(Int64.random(in: 0..<253_402_300_800_000, using: &rng)) }
        for ms in values { #expect(isoTime(ms) == Self.reference(ms), "\(ms)") }
    }

    @Test func secondsHaveThreeDecimals() {
        #expect(seconds(0) == "0.000")
        #expect(seconds(7) == "0.007")
        #expect(seconds(1234) == "1.234")
        #expect(seconds(60_050) == "60.050")
    }

    /// A quote followed by a combining mark is one Character but still a quote to a
    /// browser or a CSV reader: escaping works by scalar.
    @Test func quotesBeforeCombiningMarksAreEscaped() {
        let hostile = "x\"\u{301} onmouseover=alert(1)"
        #expect(ReportRenderer.escape(hostile) == "x&quot;\u{301} onmouseover=alert(1)")
        var line = ReportBuffer()
        line.add(csvLine: ["a\"\u{301},b", "c"])
        #expect(line.string == "\"a\"\"\u{301},b\",c\r\n")
        var buffer = ReportBuffer()
        buffer.add(csvCell: "a\"\u{301},b")
        buffer.add(html: "<\u{301}")
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == "\"a\"\"\u{301},b\"&lt;\u{301}")
    }

    /// Report counts index statuses by `position`, written out by hand for speed: it must
    /// follow `allCases`, or counts would land under the wrong status.
    @Test func statusPositionsFollowAllCases() {
        #expect(RunStatus.allCases.map(\.position) == Array(0..<RunStatus.allCases.count))
    }

    /// Places beyond what fixed point can hold (or below zero) are clamped, not a crash.
    @Test func numbersWithOutOfRangePlaces() {
        #expect(fixed(1.5, 0) == "2")
        #expect(fixed(1.5, -3) == "2")
        #expect(fixed(0.25, 40) == fixed(0.25, 18))
        #expect(fixed(0.25, 18).hasPrefix("0.25") && fixed(0.25, 18).count == 20)
        var w = JSONWriter()
        w.beginArray()
        w.number(nil, 0.25, places: 40)
        w.number(nil, 0.25, places: 0)
        w.number(nil, -1.125, places: 3)
        w.endArray()
        #expect(w.text == "[0.25,0,-1.125]")
        var b = ReportBuffer()
        b.add(padded: 7, width: 0)
        b.add(padded: 7, width: 1)
        b.add(padded: 7, width: 3)
        #expect(b.string == "77007")
    }
}
