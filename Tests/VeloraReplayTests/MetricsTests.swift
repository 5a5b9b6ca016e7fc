import Foundation
import Testing
import VeloraEvents
import VeloraReplay
import VeloraRunner
import VeloraTestSupport

/// What a real trajectory must yield. Values come from
/// `Tests/Fixtures/realdata/SOURCES.md` and from the files themselves (read
/// with Python's json module, independently of velora).
struct ExpectedMetrics: Sendable {
    var format: String
    var exitStatus: String? = nil
    var exitStatusPrefix: String? = nil
    var submitted: Bool? = nil
    var submissionBytes: UInt64? = nil
    var cost: Double? = nil
    var tokensSent: UInt64? = nil
    var tokensReceived: UInt64? = nil
    var apiCalls: UInt64? = nil
    /// When set, `apiCalls` is the right value but velora gets it wrong today.
    var note: String? = nil
}

enum RealTrajectories {
    static let root = fixture("realdata")

    /// Every `*.traj` and `*.traj.json` under `trajectories/`, and every
    /// `openhands/*.output.jsonl`, relative to `realdata/`.
    static let files: [String] = {
        var found: [String] = []
        let fm = FileManager.default
        if let walker = fm.enumerator(atPath: root + "/trajectories") {
            for case let path as String in walker where path.hasSuffix(".traj") || path.hasSuffix(".traj.json") {
                found.append("trajectories/" + path)
            }
        }
        for name in (try? fm.contentsOfDirectory(atPath: root + "/openhands")) ?? [] where name.hasSuffix(".output.jsonl") {
            found.append("openhands/" + name)
        }
        return found.sorted()
    }()

    /// The format a file is read as: by name, and OpenHands for `*.output.jsonl`
    /// (in an attempt folder the file is called `output.jsonl`).
    static func format(_ relative: String) -> String? {
        relative.hasSuffix("output.jsonl") ? "openhands" : TrajectoryMetrics.format(ofFile: relative)
    }


    static func gemini(_ id: String, cost: Double, calls: UInt64, bytes: UInt64) -> (String, ExpectedMetrics) {
        ("trajectories/mini-swe-agent/gemini-3-pro-verified/trajs/\(id)/\(id).traj.json",
         ExpectedMetrics(format: "mini-swe-agent", exitStatus: "Submitted", submitted: bytes > 0, submissionBytes: bytes,
                         cost: cost, apiCalls: calls))
    }

    static let expected: [String: ExpectedMetrics] = Dictionary(uniqueKeysWithValues: [
        // SWE-agent 0.x, GPT-4: total_cost and instance_cost both 1.26719; velora takes instance_cost.
        ("trajectories/swe-agent/gpt4__pydicom__pydicom-1458.traj",
         ExpectedMetrics(format: "swe-agent", exitStatus: "submitted", submitted: true, submissionBytes: 803, cost: 1.26719,
                         tokensSent: 122612, tokensReceived: 1369, apiCalls: 12)),
        ("trajectories/swe-agent/gpt4__swe-agent__test-repo-i1.traj",
         ExpectedMetrics(format: "swe-agent", exitStatus: "submitted", submitted: true, submissionBytes: 301, cost: 0.53839,
                         tokensSent: 52861, tokensReceived: 326, apiCalls: 5)),
        // Newer schema: no total_cost at all.
        ("trajectories/swe-agent/gpt4__6e44b9__sweagenttestrepo-1c2844.traj",
         ExpectedMetrics(format: "swe-agent", exitStatus: "submitted", submitted: true, submissionBytes: 315, cost: 0.01952,
                         tokensSent: 7141, tokensReceived: 243, apiCalls: 5)),
        // A replayed demo: cost and tokens are 0, api_calls 11.
        ("trajectories/swe-agent/demo_function_calling__marshmallow-code__marshmallow-1867.traj",
         ExpectedMetrics(format: "swe-agent", exitStatus: "submitted", submitted: true, submissionBytes: 578, cost: 0,
                         tokensSent: 0, tokensReceived: 0, apiCalls: 11)),
        // Only a history: a note, no exit status.
        ("trajectories/swe-agent/demo_function_calling_simple.history_only.traj",
         ExpectedMetrics(format: "swe-agent", note: "trajectory has no \"info\" (keys: history)")),
        // mini-swe-agent 1.15, Gemini 3 Pro on SWE-bench Verified: no tokens.
        gemini("astropy__astropy-7606", cost: 0.22861220000000002, calls: 31, bytes: 592),
        gemini("django__django-10999", cost: 0.15756699999999998, calls: 18, bytes: 497),
        gemini("django__django-16255", cost: 0.08934840000000001, calls: 17, bytes: 524),
        gemini("django__django-16560", cost: 1.4363002000000002, calls: 145, bytes: 7618),
        gemini("django__django-17029", cost: 0.09055740000000001, calls: 19, bytes: 591),
        gemini("pydata__xarray-4629", cost: 0.1260062, calls: 18, bytes: 503),
        // An empty submission: not submitted.
        gemini("pylint-dev__pylint-7080", cost: 1.1328778000000004, calls: 67, bytes: 0),
        gemini("scikit-learn__scikit-learn-26194", cost: 0.2428176, calls: 18, bytes: 580),
        gemini("sympy__sympy-13031", cost: 1.3294965999999993, calls: 115, bytes: 2521),
        // Bare JSON arrays of messages: a note.
        ("trajectories/mini-swe-agent/upstream-test-fixtures/github_issue.traj.json",
         ExpectedMetrics(format: "mini-swe-agent", note: "trajectory is a bare list of 22 messages, without info")),
        ("trajectories/mini-swe-agent/upstream-test-fixtures/local.traj.json",
         ExpectedMetrics(format: "mini-swe-agent", note: "trajectory is a bare list of 6 messages, without info")),
        // OpenHands: the last record counts; it has an error. Cost 0.0, tokens present,
        // 49 token_usages (one per LLM call) and an empty costs list.
        ("openhands/multi_swe_bench_example.output.jsonl",
         ExpectedMetrics(format: "openhands",
                         exitStatus: "error: RuntimeError: Agent reached maximum iteration in headless mode. Current iteration: 50, max iteration: 50",
                         exitStatusPrefix: "error:", submitted: true, submissionBytes: 557, cost: 0,
                         tokensSent: 938015, tokensReceived: 5627, apiCalls: 49)),
        // Newer OpenHands (GPT-5): cost 0.5808695, 20 costs entries, no token usage.
        ("openhands/fastjson2-2775_gpt5.output.jsonl",
         ExpectedMetrics(format: "openhands", exitStatus: "finished", submitted: true, submissionBytes: 1573, cost: 0.5808695,
                         apiCalls: 20)),
    ])
}

func expectMetrics(_ m: AttemptMetrics, _ e: ExpectedMetrics, _ context: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(m.format == e.format, "\(context)", sourceLocation: sourceLocation)
    if let prefix = e.exitStatusPrefix {
        #expect(m.exitStatus?.hasPrefix(prefix) == true, "\(context): \(m.exitStatus ?? "nil")", sourceLocation: sourceLocation)
    }
    #expect(m.exitStatus == e.exitStatus, "\(context)", sourceLocation: sourceLocation)
    #expect(m.submitted == e.submitted, "\(context)", sourceLocation: sourceLocation)
    #expect(m.submissionBytes == e.submissionBytes, "\(context)", sourceLocation: sourceLocation)
    switch (m.cost, e.cost) {
    case let (got?, want?):
        #expect(abs(got - want) <= 1e-12 * max(1, abs(want)), "\(context): cost \(got), want \(want)", sourceLocation: sourceLocation)
    default:
        #expect(m.cost == e.cost, "\(context): cost", sourceLocation: sourceLocation)
    }
    #expect(m.tokensSent == e.tokensSent, "\(context)", sourceLocation: sourceLocation)
    #expect(m.tokensReceived == e.tokensReceived, "\(context)", sourceLocation: sourceLocation)
    #expect(m.apiCalls == e.apiCalls, "\(context): api_calls", sourceLocation: sourceLocation)
    #expect(m.note == e.note, "\(context)", sourceLocation: sourceLocation)
}

@Suite struct MetricsTests {
    @Test func everyRealFileHasAnExpectation() {
        #expect(RealTrajectories.files.count == RealTrajectories.expected.count)
        let found = Set(RealTrajectories.files)
        let listed = Set(RealTrajectories.expected.keys)
        #expect(found.subtracting(listed).isEmpty, "found but without an expectation: \(found.subtracting(listed).sorted())")
        #expect(listed.subtracting(found).isEmpty, "expected but missing: \(listed.subtracting(found).sorted())")
    }

    @Test(arguments: RealTrajectories.files)
    func realTrajectory(_ relative: String) throws {
        let expected = try #require(RealTrajectories.expected[relative], "no expectation for \(relative)")
        let format = try #require(RealTrajectories.format(relative))
        #expect(format == expected.format)
        let data = try #require(FileManager.default.contents(atPath: RealTrajectories.root + "/" + relative))
        var metrics = AttemptMetrics(run: 3, attempt: 2, format: format, file: "f")
        TrajectoryMetrics.fill(&metrics, format: format, data: data)
        #expect(metrics.run == 3 && metrics.attempt == 2 && metrics.file == "f")
        expectMetrics(metrics, expected, relative)
    }

    /// The same files found in an attempt folder, as the runner finds them.
    @Test(arguments: RealTrajectories.files)
    func extractFindsItInAnAttemptFolder(_ relative: String) throws {
        let expected = try #require(RealTrajectories.expected[relative])
        let dir = TempDir("velora-metrics")
        defer { dir.remove() }
        let name = String(relative.split(separator: "/").last!)
        let inside: String
        switch expected.format {
        case "openhands": inside = "evaluation/outputs/CodeActAgent/output.jsonl"  // 3 folders deep
        case "swe-agent": inside = "trajectories/" + name
        default: inside = name
        }
        try FileManager.default.createDirectory(atPath: dir.path + "/" + (inside as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: RealTrajectories.root + "/" + relative, toPath: dir.path + "/" + inside)
        _ = dir.write("output.log", "not a trajectory\n")
        let metrics = try #require(TrajectoryMetrics.extract(outputDir: dir.path, run: 1, attempt: 1))
        #expect(metrics.file == inside)
        expectMetrics(metrics, expected, "extract \(relative)")
    }

    @Test func formatsByFileName() {
        #expect(TrajectoryMetrics.format(ofFile: "x.traj.json") == "mini-swe-agent")
        #expect(TrajectoryMetrics.format(ofFile: "django__django-1.traj") == "swe-agent")
        #expect(TrajectoryMetrics.format(ofFile: "output.jsonl") == "openhands")
        #expect(TrajectoryMetrics.format(ofFile: "preds.json") == nil)
        #expect(TrajectoryMetrics.format(ofFile: "all_preds.jsonl") == nil)
        #expect(TrajectoryMetrics.format(ofFile: "output.log") == nil)
    }

    struct OpenHandsRecord: Sendable, CustomTestStringConvertible {
        var index: Int
        var status: String
        var sent: UInt64
        var received: UInt64
        var patchBytes: UInt64
        var tokenUsages: UInt64
        var testDescription: String { "record \(index)" }
    }

    /// Each record of the 3-record OpenHands file, alone (as one instance's
    /// output.jsonl): cost 0.0, no costs entries, one token_usages entry per call.
    @Test(arguments: [
        OpenHandsRecord(index: 0, status: "finished", sent: 565158, received: 2558, patchBytes: 342, tokenUsages: 23),
        OpenHandsRecord(index: 1, status: "finished", sent: 410169, received: 5156, patchBytes: 533, tokenUsages: 33),
        OpenHandsRecord(index: 2,
                        status: "error: RuntimeError: Agent reached maximum iteration in headless mode. Current iteration: 50, max iteration: 50",
                        sent: 938015, received: 5627, patchBytes: 557, tokenUsages: 49),
    ])
    func openHandsRecords(_ r: OpenHandsRecord) throws {
        let data = try #require(FileManager.default.contents(atPath: RealTrajectories.root + "/openhands/multi_swe_bench_example.output.jsonl"))
        let records = data.split(separator: 0x0a)
        try #require(records.count == 3)
        var metrics = AttemptMetrics(run: 0, attempt: 1, format: "openhands")
        TrajectoryMetrics.fill(&metrics, format: "openhands", data: Data(records[r.index]) + Data([0x0a]))
        expectMetrics(metrics, ExpectedMetrics(format: "openhands", exitStatus: r.status, submitted: true,
                                               submissionBytes: r.patchBytes, cost: 0, tokensSent: r.sent,
                                               tokensReceived: r.received, apiCalls: r.tokenUsages),
                      "record \(r.index)")
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var format: String
        var bytes: [UInt8]
        var note: String
        var testDescription: String { name }
    }

    static let bad: [Bad] = {
        let real = FileManager.default.contents(atPath: RealTrajectories.root + "/trajectories/swe-agent/gpt4__pydicom__pydicom-1458.traj") ?? Data()
        let half = Array(real.prefix(real.count / 2))
        let notJSON = "trajectory is not valid JSON"
        let noRecord = "output.jsonl has no readable JSON record"
        return [
            Bad(name: "mini: not JSON", format: "mini-swe-agent", bytes: Array("not json{".utf8), note: notJSON),
            Bad(name: "mini: empty file", format: "mini-swe-agent", bytes: [], note: notJSON),
            Bad(name: "swe: cut in half", format: "swe-agent", bytes: half, note: notJSON),
            Bad(name: "swe: invalid UTF-8", format: "swe-agent", bytes: [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d], note: notJSON),
            Bad(name: "swe: NUL bytes", format: "swe-agent", bytes: [0, 0, 0, 0], note: notJSON),
            Bad(name: "mini: a bare number", format: "mini-swe-agent", bytes: Array("42".utf8), note: "trajectory is"),
            Bad(name: "mini: a bare string", format: "mini-swe-agent", bytes: Array("\"x\"".utf8), note: "trajectory is"),
            Bad(name: "mini: empty array", format: "mini-swe-agent", bytes: Array("[]".utf8),
                note: "trajectory is a bare list of 0 messages, without info"),
            Bad(name: "swe: no info", format: "swe-agent", bytes: Array("{\"trajectory\":[],\"history\":[]}".utf8),
                note: "trajectory has no \"info\" (keys: history, trajectory)"),
            Bad(name: "swe: info is a string", format: "swe-agent", bytes: Array("{\"info\":\"done\"}".utf8),
                note: "trajectory has no \"info\" (keys: info)"),
            Bad(name: "openhands: not JSON", format: "openhands", bytes: Array("not json\n".utf8), note: noRecord),
            Bad(name: "openhands: empty", format: "openhands", bytes: [], note: noRecord),
            Bad(name: "openhands: blank lines", format: "openhands", bytes: Array("\n  \r\n\n".utf8), note: noRecord),
            Bad(name: "openhands: an array record", format: "openhands", bytes: Array("[1,2]\n".utf8), note: noRecord),
            Bad(name: "openhands: last line cut", format: "openhands", bytes: Array("{\"error\":null}\n{\"error\":nu".utf8), note: noRecord),
            Bad(name: "openhands: invalid UTF-8", format: "openhands", bytes: [0xc3, 0x28, 0x0a], note: noRecord),
        ]
    }()

    /// Unreadable trajectories become a note; nothing throws or traps, and no
    /// value is made up.
    @Test(arguments: bad)
    func unreadableTrajectoriesGiveANote(_ c: Bad) {
        var metrics = AttemptMetrics(run: 0, attempt: 1, format: c.format)
        TrajectoryMetrics.fill(&metrics, format: c.format, data: Data(c.bytes))
        #expect(metrics.note?.hasPrefix(c.note) == true, "\(metrics.note ?? "nil")")
        #expect(metrics.exitStatus == nil)
        #expect(metrics.submitted == nil)
        #expect(metrics.cost == nil)
        #expect(metrics.tokensSent == nil && metrics.tokensReceived == nil && metrics.apiCalls == nil)
    }

    /// Fields of the wrong type are left out, not guessed; booleans are not numbers.
    @Test func wrongTypesAreIgnored() {
        let json = #"{"info":{"exit_status":5,"submission":7,"model_stats":{"instance_cost":"1.5","tokens_sent":-5,"tokens_received":1e30,"api_calls":true}}}"#
        var m = AttemptMetrics(run: 0, attempt: 1)
        TrajectoryMetrics.fill(&m, format: "mini-swe-agent", data: Data(json.utf8))
        #expect(m.note == nil)
        #expect(m.exitStatus == nil)
        #expect(m.submitted == nil && m.submissionBytes == nil)
        #expect(m.cost == nil)
        #expect(m.tokensSent == nil)
        #expect(m.tokensReceived == nil)
        #expect(m.apiCalls == nil)

        // total_cost when instance_cost is missing; a null submission is no submission.
        let older = #"{"info":{"exit_status":"exit_cost","submission":null,"model_stats":{"total_cost":2.5,"tokens_sent":3,"api_calls":4.0}}}"#
        var o = AttemptMetrics(run: 0, attempt: 1)
        TrajectoryMetrics.fill(&o, format: "swe-agent", data: Data(older.utf8))
        #expect(o.exitStatus == "exit_cost")
        #expect(o.submitted == false)
        #expect(o.cost == 2.5)
        #expect(o.tokensSent == 3)
        #expect(o.apiCalls == 4)

        // A whitespace-only submission is not a patch, but its bytes are counted.
        let blank = #"{"info":{"exit_status":"Submitted","submission":" \n\t"}}"#
        var b = AttemptMetrics(run: 0, attempt: 1)
        TrajectoryMetrics.fill(&b, format: "mini-swe-agent", data: Data(blank.utf8))
        #expect(b.submitted == false)
        #expect(b.submissionBytes == 3)
        #expect(b.cost == nil)

        // OpenHands: an empty error is no error; a multi-line one keeps its first line;
        // CRLF line ends and trailing blank lines are fine.
        var h = AttemptMetrics(run: 0, attempt: 1)
        TrajectoryMetrics.fill(&h, format: "openhands", data: Data("{\"error\":\"\",\"test_result\":{\"git_patch\":\"\"}}\r\n\r\n".utf8))
        #expect(h.exitStatus == "finished")
        #expect(h.submitted == false)
        var e = AttemptMetrics(run: 0, attempt: 1)
        TrajectoryMetrics.fill(&e, format: "openhands", data: Data(#"{"error":"Boom\nTraceback (most recent call last):","history":[{"source":"agent"},{"source":"user"},{"source":"agent"}]}"#.utf8))
        #expect(e.exitStatus == "error: Boom")
        #expect(e.apiCalls == 2)
    }
}
