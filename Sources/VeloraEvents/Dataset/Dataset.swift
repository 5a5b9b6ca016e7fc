import Foundation

/// One dataset row: its id and where it was (its bytes are in the dataset's `rows`).
public struct Instance: Sendable, Equatable {
    public let id: String
    /// Where it was: "line N" or "index N (line M)".
    public let location: String
}

/// A validated dataset. Rows are kept as their original bytes (never a parsed
/// tree per row), in memory or, for a runner, in a scratch file (`RowStore`).
public struct Dataset: Sendable {
    public let path: String
    public let instances: [Instance]
    /// Each instance's JSON text, byte for byte (without its line ending).
    public let rows: RowStore
    /// CRC-32 over the uncompressed bytes, their count, and the row count.
    public let fingerprint: String

    /// The row of instance `index`.
    public func row(_ index: Int) throws(EventsError) -> [UInt8] { try rows.row(index) }

    /// Why the file could not be read, without repeating its path.
    static func unreadable(_ error: EventsError) -> String {
        switch error {
        case let .io(_, operation, errno): "cannot be read (\(operation): \(String(cString: strerror(errno))))"
        case let .gzip(_, detail), let .gzipDamaged(_, detail): "cannot be read: \(detail)"
        default: "cannot be read: \(error)"
        }
    }

    /// Reads and validates a JSON Lines or JSON array file, gzipped or not.
    /// Every problem is refused with the file, the place and what is wrong.
    /// With `spillingInto`, the rows go to an unlinked scratch file in that folder
    /// instead of memory (if the folder takes one).
    public static func load(path: String, spillingInto folder: String? = nil) throws(EventsError) -> Dataset {
        guard fileExists(path) else {
            throw .dataset(path: path, location: nil, problem: "no such file")
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw .dataset(path: path, location: nil, problem: "is a folder, not a dataset file")
        }
        let source: ByteSource
        let gz: Bool
        do {
            gz = try isGzip(path: path)
            source = gz ? try GzipReader(path: path) : try FileSource(path: path)
        } catch {
            throw .dataset(path: path, location: nil, problem: unreadable(error))
        }
        // A folder that cannot take the scratch file (read-only, say) leaves the rows in memory.
        let rows = folder.flatMap { try? RowStore(spillingInto: $0) } ?? RowStore()
        var parser = DatasetParser(path: path, format: DatasetParser.format(forPath: path), rows: rows)
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let n: Int
            do {
                n = try chunk.withMutableBytes { (raw) throws(EventsError) in try source.read(into: raw) }
            } catch {
                throw .dataset(path: path, location: nil, problem: unreadable(error))
            }
            if n == 0 { break }
            try chunk.withBytes { (raw) throws(EventsError) in
                try parser.consume(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
            }
        }
        if let reader = source as? GzipReader, reader.truncated {
            throw .dataset(path: path, location: nil, problem: "the gzip stream is cut short (truncated file)")
        }
        let instances = try parser.finish()
        try rows.seal()
        let fingerprint = "crc32:\(hex8(parser.crc)) bytes:\(parser.totalBytes) rows:\(instances.count)"
        return Dataset(path: path, instances: instances, rows: rows, fingerprint: fingerprint)
    }

    /// Writes the rows as JSON Lines, gzip-compressed (the session's snapshot).
    public func writeSnapshot(to destination: String) throws(EventsError) {
        try Dataset.writeJSONLines(count: rows.count, row: rows.row, to: destination)
    }

    /// Writes rows as JSON Lines, gzipped when `destination` ends in `.gz`; atomically.
    public static func writeJSONLines(_ rows: [[UInt8]], to destination: String) throws(EventsError) {
        try writeJSONLines(count: rows.count, row: { rows[$0] }, to: destination)
    }

    /// Writes `count` rows, read one at a time, as JSON Lines (gzipped for `.gz`); atomically.
    static func writeJSONLines(count: Int, row: (Int) throws(EventsError) -> [UInt8], to destination: String) throws(EventsError) {
        let tmp = destination + ".tmp"
        if destination.hasSuffix(".gz") {
            let writer = try GzipWriter(path: tmp)
            for i in 0..<count {
                try writer.write(try row(i))
                try writer.write([0x0a])
            }
            try writer.finish()
        } else {
            var bytes: [UInt8] = []
            for i in 0..<count { bytes += try row(i); bytes.append(0x0a) }
            try writeFileAtomically(tmp, bytes)
        }
        _ = try valueOrErrno(path: destination, "rename") { rename(tmp, destination) }
        try fsyncDirectory(of: destination)
    }
}

func hex8(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

/// Splits a byte stream into rows (lines, or the elements of one top-level
/// array) and validates each; keeps only the rows' bytes.
struct DatasetParser {
    enum Format { case lines, array, sniff }

    static func format(forPath path: String) -> Format {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".json") { return .array }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") { return .lines }
        return .sniff
    }

    let path: String
    var format: Format
    let rows: RowStore
    var crc: UInt32 = 0
    var totalBytes: UInt64 = 0
    var instances: [Instance] = []
    var firstLine: [String: Int] = [:]
    var current: [UInt8] = []
    var line = 1
    var sawFirstByte = false
    // Array scanning state.
    var arrayState = ArrayState.beforeOpen
    var depth = 0
    var inString = false
    var escaped = false
    var elementLine = 0
    var index = 0

    enum ArrayState { case beforeOpen, beforeElement, inElement, afterElement, closed }

    init(path: String, format: Format, rows: RowStore) {
        self.path = path
        self.format = format
        self.rows = rows
    }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(EventsError) {
        crc = crc32Of(bytes, previous: crc)
        totalBytes += UInt64(bytes.count)
        var i = 0
        if !sawFirstByte, !bytes.isEmpty {
            sawFirstByte = true
            if bytes.count >= 3, bytes[0] == 0xef, bytes[1] == 0xbb, bytes[2] == 0xbf {
                throw .dataset(path: path, location: "line 1",
                               problem: "the file starts with a UTF-8 byte order mark; save it without one")
            }
        }
        if format == .sniff {
            while i < bytes.count, isSpace(bytes[i]) { if bytes[i] == 0x0a { line += 1 }; i += 1 }
            guard i < bytes.count else { return }
            format = bytes[i] == UInt8(ascii: "[") ? .array : .lines
        }
        switch format {
        case .lines: try consumeLines(bytes, from: i)
        case .array: try consumeArray(bytes, from: i)
        case .sniff: break
        }
    }

    mutating func consumeLines(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(EventsError) {
        var segmentStart = start
        var i = start
        while i < bytes.count {
            if bytes[i] == 0x0a {
                current.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[segmentStart..<i]))
                try endLine()
                segmentStart = i + 1
            }
            i += 1
        }
        current.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[segmentStart..<bytes.count]))
    }

    mutating func endLine() throws(EventsError) {
        if current.last == 0x0d { current.removeLast() }  // CRLF endings
        let location = "line \(line)"
        if !current.allSatisfy(isSpace) {
            try accept(current, location: location, line: line)
        }
        current.removeAll(keepingCapacity: true)
        line += 1
    }

    mutating func consumeArray(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(EventsError) {
        var i = start
        while i < bytes.count {
            let b = bytes[i]
            switch arrayState {
            case .beforeOpen:
                if b == UInt8(ascii: "[") { arrayState = .beforeElement }
                else if !isSpace(b) {
                    throw .dataset(path: path, location: "line \(line)",
                                   problem: "not JSON: expected '[' to start the array of instances")
                }
            case .beforeElement, .afterElement:
                if isSpace(b) { break }
                if b == UInt8(ascii: "]") {
                    if arrayState == .beforeElement && index > 0 {
                        throw .dataset(path: path, location: "line \(line)", problem: "not JSON: trailing ',' before ']'")
                    }
                    arrayState = .closed
                } else if arrayState == .afterElement {
                    guard b == UInt8(ascii: ",") else {
                        throw .dataset(path: path, location: "line \(line)", problem: "not JSON: expected ',' or ']' after element \(index - 1)")
                    }
                    arrayState = .beforeElement
                } else {
                    arrayState = .inElement
                    elementLine = line
                    depth = 0
                    inString = false
                    escaped = false
                    current.removeAll(keepingCapacity: true)
                    continue  // re-read this byte as part of the element
                }
            case .inElement:
                var ends = false
                if inString {
                    if escaped { escaped = false }
                    else if b == UInt8(ascii: "\\") { escaped = true }
                    else if b == UInt8(ascii: "\"") { inString = false }
                } else {
                    switch b {
                    case UInt8(ascii: "\""): inString = true
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        if depth == 0 { ends = true } else { depth -= 1 }
                    case UInt8(ascii: ","):
                        if depth == 0 { ends = true }
                    default: break
                    }
                }
                if ends {
                    try finishElement()
                    continue  // the ',' or ']' is handled by the next state
                }
                current.append(b)
            case .closed:
                if !isSpace(b) {
                    throw .dataset(path: path, location: "line \(line)", problem: "not JSON: data after the closing ']'")
                }
            }
            if b == 0x0a { line += 1 }
            i += 1
        }
    }

    mutating func finishElement() throws(EventsError) {
        while let last = current.last, isSpace(last) { current.removeLast() }
        try accept(current, location: "index \(index) (line \(elementLine))", line: elementLine)
        index += 1
        arrayState = .afterElement
    }

    mutating func accept(_ row: [UInt8], location: String, line: Int) throws(EventsError) {
        guard String(validating: row, as: UTF8.self) != nil else {
            throw .dataset(path: path, location: location, problem: "invalid UTF-8")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(row), options: [.fragmentsAllowed])
        } catch {
            throw .dataset(path: path, location: location, problem: "not JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw .dataset(path: path, location: location, problem: "not a JSON object (\(jsonKind(object)))")
        }
        guard let value = dict["instance_id"] else {
            throw .dataset(path: path, location: location, problem: "missing \"instance_id\"")
        }
        guard let id = value as? String, !(value is NSNumber) else {
            throw .dataset(path: path, location: location, problem: "\"instance_id\" is not a string (\(jsonKind(value)))")
        }
        guard !id.isEmpty else {
            throw .dataset(path: path, location: location, problem: "\"instance_id\" is empty")
        }
        if let first = firstLine[id] {
            throw .dataset(path: path, location: location,
                           problem: "duplicate instance_id \"\(id)\" (first on line \(first), again on line \(line))")
        }
        firstLine[id] = line
        try rows.append(row)
        instances.append(Instance(id: id, location: location))
    }

    mutating func finish() throws(EventsError) -> [Instance] {
        switch format {
        case .lines:
            if !current.isEmpty { try endLine() }
        case .array:
            switch arrayState {
            case .closed: break
            case .beforeOpen: break
            default:
                throw .dataset(path: path, location: "line \(line)", problem: "not JSON: the array is not closed (file cut short?)")
            }
        case .sniff: break
        }
        if instances.isEmpty {
            throw .dataset(path: path, location: nil, problem: "empty dataset: no instances")
        }
        return instances
    }
}

@inline(__always)
func isSpace(_ b: UInt8) -> Bool {
    b == 0x20 || b == 0x0a || b == 0x0d || b == 0x09
}

/// Whether a number from JSONSerialization was `true`/`false` in the text (on Linux
/// booleans come back as NSNumber; their type encoding tells them apart).
public func isJSONBoolean(_ n: NSNumber) -> Bool {
    String(cString: n.objCType) == "c"
}

func jsonKind(_ value: Any) -> String {
    switch value {
    case is NSNull: return "null"
    case let n as NSNumber:
        return isJSONBoolean(n) ? "a boolean" : "a number"
    case is String: return "a string"
    case is [Any]: return "an array"
    case is [String: Any]: return "an object"
    default: return "\(type(of: value))"
    }
}
