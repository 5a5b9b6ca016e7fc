import Foundation
import Testing
import VeloraEvents
import VeloraTestSupport

@Suite struct GzipTests {
    @Test func roundTripAndZcat() throws {
        let dir = TempDir(); defer { dir.remove() }
        var rng = SeededRandom(seed: 7)
        let data = (0..<300_000).map { _ in UInt8.random(in: 0...20, using: &rng) }
        let path = dir.file("x.gz")
        let writer = try GzipWriter(path: path)
        try writer.write(data)
        try writer.finish()
        let reader = try GzipReader(path: path)
        #expect(try readAllBytes(reader) == data)
        #expect(!reader.truncated)
        let zcat = Process()
        zcat.executableURL = URL(fileURLWithPath: "/bin/sh")
        zcat.arguments = ["-c", "zcat '\(path)' | cmp - '\(dir.write("raw", bytes: data))'"]
        try zcat.run()
        zcat.waitUntilExit()
        #expect(zcat.terminationStatus == 0)
    }

    /// An empty file is compressed without zlib: the same bytes zlib writes, and zcat reads them.
    @Test(arguments: [Int32(1), 6, 9])
    func emptyFileGivesZlibsBytes(level: Int32) throws {
        let dir = TempDir(); defer { dir.remove() }
        let empty = dir.write("empty", bytes: [])
        try gzipFile(from: empty, to: dir.file("fast.gz"), level: level)
        let writer = try GzipWriter(path: dir.file("zlib.gz"), level: level)
        try writer.finish()
        let fast = try readWholeFile(dir.file("fast.gz"))
        #expect(fast == (try readWholeFile(dir.file("zlib.gz"))))
        #expect(try readAllBytes(try GzipReader(path: dir.file("fast.gz"))).isEmpty)
    }

    /// A writer that died after a flush: the reader yields what was flushed.
    @Test func cutShortStreamYieldsWhatWasFlushed() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("partial.gz")
        let first = Array("first part, flushed\n".utf8)
        do {
            let writer = try GzipWriter(path: path)
            try writer.write(first)
            try writer.flush(sync: true)
            try writer.write(Array(repeating: UInt8(ascii: "x"), count: 10))  // never flushed
            // The writer is dropped without finish(): like a crash (deinit does not finish).
        }
        let reader = try GzipReader(path: path)
        #expect(try readAllBytes(reader) == first)
        #expect(reader.truncated)
    }

    @Test func concatenatedMembersReadAsOne() throws {
        let dir = TempDir(); defer { dir.remove() }
        var all: [UInt8] = []
        for part in ["a\n", "bb\n"] {
            let p = dir.file("part")
            let w = try GzipWriter(path: p)
            try w.write(Array(part.utf8))
            try w.finish()
            all += bytes(p)
        }
        let path = dir.write("both.gz", bytes: all)
        #expect(try readAllBytes(GzipReader(path: path)) == Array("a\nbb\n".utf8))
    }

    @Test func damagedDataIsAnError() throws {
        let dir = TempDir(); defer { dir.remove() }
        let p = dir.file("x.gz")
        let w = try GzipWriter(path: p)
        try w.write(Array(String(repeating: "hello world ", count: 1000).utf8))
        try w.finish()
        var b = bytes(p)
        for i in 20..<40 { b[i] ^= 0xff }
        let damaged = dir.write("bad.gz", bytes: b)
        #expect(throws: EventsError.self) { try readAllBytes(GzipReader(path: damaged)) }
    }
}
