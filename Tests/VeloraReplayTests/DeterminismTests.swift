import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

/// SPEC "Deterministic": reports are byte-identical whenever and wherever they
/// are rebuilt from the same log.
@Suite struct DeterminismTests {
    @Test func reportsAreByteIdenticalWheneverAndWherever() throws {
        let session = try RealSession.make("velora-determinism", instances: ["ok-1", "fail-3", "retry-4", "a/b c <&>\"é"],
                                           models: ["alpha", "beta"], script: smallAgent, flags: smallAgentFlags)
        defer { session.dir.remove() }
        try #require(session.result.code == 1, "\(session.result.stderr)")
        let root = session.layout.root

        func read(_ reports: String) -> [String: [UInt8]] {
            var files: [String: [UInt8]] = [:]
            for name in reportFileNames { files[name] = fileBytes(reports + "/" + name) }
            return files
        }

        // What `velora run` wrote at the end of the session.
        let atRun = read(session.layout.reportsDir)

        // `velora report`, twice.
        let first = try runVelora(["report", root], cwd: session.dir.path)
        try #require(first.code == 0, "\(first.stderr)")
        let once = read(session.layout.reportsDir)
        let second = try runVelora(["report", root], cwd: session.dir.path)
        try #require(second.code == 0, "\(second.stderr)")
        let twice = read(session.layout.reportsDir)

        // A copy of the whole session folder elsewhere, reported from another
        // folder, with another time zone and locale.
        let elsewhere = TempDir("velora-determinism-copy")
        defer { elsewhere.remove() }
        let copy = elsewhere.file("s1")
        try copyTree(root, to: copy)
        try FileManager.default.removeItem(atPath: copy + "/reports")
        let moved = try runVelora(["report", copy], cwd: elsewhere.path,
                                  environment: ["TZ": "Pacific/Chatham", "LC_ALL": "de_DE.UTF-8", "LANG": "de_DE.UTF-8"])
        try #require(moved.code == 0, "\(moved.stderr)")
        let copied = read(copy + "/reports")

        // The same log, decompressed: the same reports.
        let plain = elsewhere.file("plain")
        try copyTree(root, to: plain)
        let layout = SessionLayout(root: plain)
        if exists(layout.compressedLogPath) {
            let unzipped = try runProgram("/bin/sh", ["-c", "zcat \"$0\" > \"$1\" && rm \"$0\"", layout.compressedLogPath, layout.logPath])
            try #require(unzipped.code == 0, "\(unzipped.stderr)")
        }
        try #require(exists(layout.logPath))
        let fromPlain = try runVelora(["report", plain], cwd: elsewhere.path)
        try #require(fromPlain.code == 0, "\(fromPlain.stderr)")
        let decompressed = read(plain + "/reports")

        // And the fold in this process.
        let inProcess = renderedReports(try foldSession(session.layout)).mapValues { Array($0.utf8) }

        for name in reportFileNames {
            let reference = try #require(once[name])
            #expect(!reference.isEmpty, "\(name) is empty")
            for (label, other) in [("at the end of velora run", atRun), ("second velora report", twice),
                                   ("copied session", copied), ("decompressed log", decompressed),
                                   ("in-process fold", inProcess)] {
                let bytes = other[name] ?? []
                #expect(bytes == reference, "\(name): \(label) differs\n\(firstDifference(String(decoding: reference, as: UTF8.self), String(decoding: bytes, as: UTF8.self)) ?? "")")
            }
        }
        // What `velora report` prints is report.txt.
        #expect(Array(first.stdout.utf8) == once["report.txt"])
        #expect(Array(moved.stdout.utf8) == once["report.txt"])
    }

    /// Each format alone gives the same bytes as all formats together.
    @Test func formatsAloneMatchAllTogether() throws {
        let session = try RealSession.make("velora-determinism-formats", instances: ["ok-1", "fail-2"],
                                           models: ["m"], script: smallAgent, flags: smallAgentFlags)
        defer { session.dir.remove() }
        let all = session.dir.file("all")
        let r = try runVelora(["report", session.layout.root, "--out", all], cwd: session.dir.path)
        try #require(r.code == 0, "\(r.stderr)")
        let byFormat = ["text": ["report.txt"], "csv": ["results.csv", "attempts.csv"], "json": ["summary.json"],
                        "html": ["report.html"]]
        for (format, files) in byFormat.sorted(by: { $0.key < $1.key }) {
            let one = session.dir.file("only-" + format)
            let result = try runVelora(["report", session.layout.root, "--out", one, "--format", format], cwd: session.dir.path)
            try #require(result.code == 0, "\(result.stderr)")
            let written = try FileManager.default.contentsOfDirectory(atPath: one).sorted()
            #expect(written == files.sorted(), "--format \(format)")
            for file in files {
                #expect(fileBytes(one + "/" + file) == fileBytes(all + "/" + file), "--format \(format): \(file)")
            }
        }
    }
}

/// Report files are streamed to disk a megabyte at a time; what lands there is what the
/// renderers produce in memory, also across the chunk boundaries of a large session.
@Suite struct StreamedReportTests {
    @Test func largeSessionReportFilesEqualTheInMemoryRendering() throws {
        let dir = TempDir("velora-stream"); defer { dir.remove() }
        var events: [Event] = []
        var seq: UInt64 = 0
        func add(_ kind: EventKind) { seq += 1; events.append(Event(seq: seq, time: 1_790_000_000_000 + Int64(seq), kind: kind)) }
        add(.sessionCreated(SessionCreated(sessionID: "big", nonce: "ab", config: "{}", datasetPath: "/d.jsonl",
                                           datasetFingerprint: "-", instanceCount: 6000, host: "h", veloraVersion: "0")))
        for i in 0..<6000 {
            let id = "repo__project-\(i)-\u{e9}\"<&>"
            add(.runQueued(RunQueued(run: UInt32(i), model: "m", instanceID: id, datasetIndex: UInt32(i), folder: "runs/m/r\(i)")))
            add(.attemptStarted(AttemptStarted(run: UInt32(i), attempt: 1, executor: "local", pid: 100, host: "h", argv: [],
                                               outputDir: "runs/m/r\(i)/attempt-1", timeoutMs: 0)))
            let ended = AttemptEnded(run: UInt32(i), attempt: 1, exitCode: Int32(i % 3), durationMs: UInt64(i), reason: "exit code \(i % 3), with, commas")
            add(i % 3 == 0 ? .attemptSucceeded(ended) : .attemptFailed(ended))
        }
        let state = SessionState(events: events)
        let expected = renderedReports(state)
        #expect((expected["summary.json"]?.utf8.count ?? 0) > 2 << 20)  // several chunks
        try ReportFiles.write(state: state, to: dir.path, formats: ReportFiles.allFormats, failedOnly: false)
        for (name, text) in expected {
            #expect(fileBytes(dir.file(name)) == Array(text.utf8), "\(name) differs when streamed")
        }
    }
}
