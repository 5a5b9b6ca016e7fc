import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraTestSupport

/// A headless Chromium to parse report.html as a browser does.
let chromiumBinary: String? = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium", "/usr/bin/chromium-browser"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// One element of a serialized DOM: its tag, attributes and the text right after its start tag.
struct DOMElement {
    var tag: String
    var attributes: [String: String]
    /// Where the start tag ends in the serialization.
    var end: String.Index
    var classes: [String] { (attributes["class"] ?? "").split(separator: " ").map(String.init) }
}

/// Start tags of Chromium's `--dump-dom` serialization (always `name="value"`,
/// with `&amp;`, `&quot;`, `&lt;`, `&gt;`, `&nbsp;` escapes).
func parseStartTags(_ html: String) -> [DOMElement] {
    let tag = /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>\/]+(?:="[^"]*")?)*)\s*\/?>/
    let attribute = /([^\s=>\/]+)(?:="([^"]*)")?/
    var elements: [DOMElement] = []
    for match in html.matches(of: tag) {
        var attributes: [String: String] = [:]
        for a in String(match.output.2).matches(of: attribute) {
            attributes[String(a.output.1)] = decodeEntities(String(a.output.2 ?? ""))
        }
        elements.append(DOMElement(tag: String(match.output.1).lowercased(), attributes: attributes, end: match.range.upperBound))
    }
    return elements
}

func decodeEntities(_ s: String) -> String {
    guard s.contains("&") else { return s }
    var out = s
    for (entity, value) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&nbsp;", "\u{a0}"), ("&amp;", "&")] {
        out = out.replacingOccurrences(of: entity, with: value)
    }
    return out
}

/// The text from a start tag to the next tag.
func textAfter(_ html: String, _ element: DOMElement) -> String {
    decodeEntities(String(html[element.end...].prefix { $0 != "<" }))
}

@Suite struct HTMLTests {
    static let enabled = chromiumBinary != nil || requireAll

    /// report.html of a real session, as headless Chromium parses it.
    @Test(.enabled(if: enabled, "no chromium-headless-shell or chromium (set VELORA_TEST_REQUIRE_ALL=1 to make this a failure)"))
    func reportInHeadlessChromium() throws {
        let chromium = try #require(chromiumBinary, "VELORA_TEST_REQUIRE_ALL=1 but no chromium-headless-shell or chromium is installed")
        let instances = ["ok-1", "fail-2", "retry 50% <b>&\"'x", "slow-é"]
        let models = ["alpha", "beta"]
        // beta's slow instance is not slow: it only sleeps under alpha.
        let script = #"[ "$VELORA_MODEL" = beta ] && [ "$VELORA_INSTANCE_ID" = slow-é ] && exit 0"# + "\n" + smallAgent
        let session = try RealSession.make("velora-html", instances: instances, models: models, script: script,
                                           flags: ["--jobs", "4", "--max-attempts", "2", "--retry-on", "failed", "--backoff", "0s",
                                                   "--timeout", "2s", "--kill-grace", "1s"])
        defer { session.dir.remove() }
        try #require(session.result.code == 1, "\(session.result.stderr)")
        let state = try foldSession(session.layout)
        let expectedStatus: [String: RunStatus] = [
            "alpha/ok-1": .succeeded, "alpha/fail-2": .failed, "alpha/retry 50% <b>&\"'x": .succeeded, "alpha/slow-é": .timedOut,
            "beta/ok-1": .succeeded, "beta/fail-2": .failed, "beta/retry 50% <b>&\"'x": .succeeded, "beta/slow-é": .succeeded,
        ]
        for run in state.runs { #expect(run.status == expectedStatus["\(run.model)/\(run.instanceID)"], "\(run.model)/\(run.instanceID)") }

        let reports = session.layout.reportsDir
        let r = try runVelora(["report", session.layout.root, "--format", "html"], cwd: session.dir.path)
        try #require(r.code == 0, "\(r.stderr)")
        let file = reports + "/report.html"
        let raw = fileText(file)

        // Self-contained: no script, nothing fetched from the network.
        #expect(!raw.lowercased().contains("<script"))
        #expect(!raw.lowercased().contains("http://"))
        #expect(!raw.lowercased().contains("https://"))
        #expect(!raw.contains(" src="))
        #expect(!raw.contains("url("))

        let dump = try runProgram(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + file],
                                  timeLimit: 60)
        try #require(dump.code == 0, "chromium: \(dump.stderr.suffix(2000))")
        let dom = dump.text
        try #require(dom.contains("</html>"), "no DOM from chromium: \(dump.stderr.suffix(2000))")
        let elements = parseStartTags(dom)
        #expect(!elements.contains { $0.tag == "script" })
        // The hostile id is text, never markup.
        #expect(!elements.contains { $0.tag == "b" })

        // One bar per (model, status present), in status order.
        let bars = elements.filter { $0.tag == "rect" && $0.classes.contains("bar") }
        let order: [RunStatus] = [.succeeded, .failed, .timedOut, .interrupted, .running, .retrying, .queued]
        var expectedBars: [String] = []
        for model in models {
            let statuses = Set(expectedStatus.filter { $0.key.hasPrefix(model + "/") }.values)
            expectedBars += order.filter(statuses.contains).map(\.rawValue)
        }
        #expect(bars.map { $0.attributes["data-status"] ?? "?" } == expectedBars)
        #expect(bars.count == 5)

        // One cell per run, in matrix order (instances down, models across),
        // each with its status and a link to its final attempt's folder.
        let rows = elements.filter { $0.tag == "td" && $0.classes.contains("id") }
        #expect(rows.map { textAfter(dom, $0) } == instances)
        let cells = elements.enumerated().filter { $0.element.tag == "td" && $0.element.classes.contains("cell") }
        try #require(cells.count == instances.count * models.count, "\(cells.count) cells")
        for (i, (position, cell)) in cells.enumerated() {
            let instance = instances[i / models.count]
            let model = models[i % models.count]
            let run = try #require(state.run(model: model, instanceID: instance))
            #expect(cell.attributes["data-status"] == expectedStatus["\(model)/\(instance)"]?.rawValue, "\(model)/\(instance)")
            let link = try #require(elements[(position + 1)...].first, "no link in the cell of \(model)/\(instance)")
            #expect(link.tag == "a")
            let href = try #require(link.attributes["href"], "\(model)/\(instance)")
            let finalFolder = SessionLayout.attemptFolder(runFolder: SessionLayout.runFolder(model: model, instanceID: instance),
                                                          attempt: UInt32(run.attempts.count))
            // The link, resolved as a browser does from reports/, is the final attempt's folder.
            let resolved = try #require(URL(string: href, relativeTo: URL(fileURLWithPath: file)))
            #expect(resolved.standardizedFileURL.path == session.layout.root + "/" + finalFolder, "\(href)")
            #expect(isDirectory(resolved.path), "\(href) -> \(resolved.path) is not a folder")
            #expect(link.attributes["title"]?.contains("\(model) / \(instance)") == true)
        }
        let succeededCells = cells.filter { $0.element.attributes["data-status"] == "succeeded" }
        #expect(succeededCells.count == 5)

        // Every link resolves to a folder or file of the session.
        for a in elements where a.tag == "a" {
            guard let href = a.attributes["href"] else { continue }
            let resolved = try #require(URL(string: href, relativeTo: URL(fileURLWithPath: file)))
            #expect(resolved.isFileURL, "\(href)")
            #expect(resolved.standardizedFileURL.path.hasPrefix(session.layout.root + "/runs/"), "\(href)")
            #expect(exists(resolved.standardizedFileURL.path), "\(href) does not exist")
        }
        // The not-succeeded table links each problem's log.
        let logs = elements.filter { $0.tag == "a" && $0.classes.contains("log") }
        #expect(logs.count == 3)
    }

    /// With `--out`, report.html links to the session folder by its absolute
    /// path; every cell link must still reach the run's final attempt folder,
    /// wherever the session lives. (No browser needed: URL resolution is the
    /// browser's.)
    @Test(arguments: ["plain", "runs #1 100%41"])
    func linksFromAnotherFolderReachTheSession(_ folder: String) throws {
        let dir = TempDir("velora-html-out")
        defer { dir.remove() }
        let output = dir.file(folder)
        let data = writeDataset(dir, ["ok-1", "fail-2"])
        let run = try runVelora(["run", "--dataset", data, "--output", output, "--session", "s1", "--model", "name=m",
                                 "--", "/bin/sh", "-c", literalArgument(smallAgent)], cwd: dir.path)
        try #require(run.code == 1, "\(run.stderr)")
        let layout = SessionLayout(root: output + "/s1")
        let reports = dir.file("elsewhere")
        let r = try runVelora(["report", layout.root, "--out", reports, "--format", "html"], cwd: dir.path)
        try #require(r.code == 0, "\(r.stderr)")
        let file = reports + "/report.html"
        let elements = parseStartTags(fileText(file))
        let cells = elements.indices.filter { elements[$0].tag == "td" && elements[$0].classes.contains("cell") }
        try #require(cells.count == 2)
        let check = {
            for (i, instance) in ["ok-1", "fail-2"].enumerated() {
                let href = try #require(elements[cells[i] + 1].attributes["href"])
                let resolved = URL(string: href, relativeTo: URL(fileURLWithPath: file))?.standardizedFileURL.path
                let folder = layout.root + "/" + SessionLayout.attemptFolder(
                    runFolder: SessionLayout.runFolder(model: "m", instanceID: instance), attempt: 1)
                #expect(resolved == folder, "href \(href.debugDescription) resolves to \(resolved ?? "nothing")")
            }
        }
        try check()
    }
}
