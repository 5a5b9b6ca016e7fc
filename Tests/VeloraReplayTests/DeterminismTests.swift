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
