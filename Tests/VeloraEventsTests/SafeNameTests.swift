import Foundation
import Testing
import VeloraEvents
import VeloraTestSupport

@Suite struct SafeNameTests {
    @Test func ordinaryIdsStayReadable() {
        #expect(SafeName.folder(for: "django__django-11099") == "django__django-11099")
        #expect(SafeName.folder(for: "astropy__astropy-12907.v2") == "astropy__astropy-12907.v2")
        #expect(SafeName.folder(for: "opus") == "opus")
    }

    static let hostile: [String] = [
        "..", ".", "", "a/b", "/etc/passwd", "../../../../tmp/x", "a\u{0}b", "a\nb", "line\r\n",
        String(repeating: "x", count: 4096), String(repeating: "é", count: 2048), "日本語", "emoji-😀",
        "Case", "case", "CASE", "a b", "a%20b", "a%2Fb", "a_b", ".hidden", "..hidden", "x'; touch pwned; '",
        "$(reboot)", "`id`", "~", "a~b", String(repeating: "y", count: 200) + "/1", String(repeating: "y", count: 200) + "/2",
        "%", "%25", "-", "--rf",
    ]

    @Test func hostileNamesStayInsideAndAreDistinct() throws {
        let dir = TempDir(); defer { dir.remove() }
        var seen: [String: String] = [:]
        for name in Self.hostile {
            let folder = SafeName.folder(for: name)
            #expect(!folder.isEmpty && folder != "." && folder != "..", "\(name.debugDescription)")
            #expect(!folder.contains("/") && !folder.contains("\u{0}") && !folder.contains("\n"))
            #expect(!folder.hasPrefix("."), "\(folder)")
            #expect(folder.utf8.count <= 255)
            if let other = seen[folder] { Issue.record("\(name.debugDescription) and \(other.debugDescription) share \(folder)") }
            seen[folder] = name
            // The folder really is a child of the session folder.
            let path = dir.path + "/runs/" + folder
            try makeDirectories(path)
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            #expect(resolved.hasPrefix(dir.path + "/runs/"))
            #expect(parentDirectory(resolved) == URL(fileURLWithPath: dir.path + "/runs").resolvingSymlinksInPath().path)
        }
        let created = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/runs")
        #expect(created.count == Self.hostile.count)
    }
}
