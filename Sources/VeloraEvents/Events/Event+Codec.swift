/// Binary encoding of events: the record type byte is the kind's code; the
/// payload is `seq`, `time`, then the kind's tagged fields (see `FieldWriter`).
/// Codes and field numbers are the log's schema: never reuse or renumber one.
extension EventKind {
    public var code: UInt8 {
        switch self {
        case .sessionCreated: 1
        case .runQueued: 2
        case .attemptStarted: 3
        case .attemptSucceeded: 4
        case .attemptFailed: 5
        case .attemptTimedOut: 6
        case .attemptInterrupted: 7
        case .attemptMetrics: 8
        case .retryScheduled: 9
        case .retryRequested: 10
        case .runnerStarted: 11
        case .runnerStopped: 12
        case .sessionCompleted: 13
        case .logRepaired: 14
        case .attemptPrepared: 15
        case let .unknown(code, _): code
        }
    }
}

extension Event {
    /// The record payload (everything but the type byte, which is `kind.code`).
    public func encodedPayload() -> [UInt8] {
        var w = FieldWriter()
        w.varint(seq)
        w.varint(UInt64(bitPattern: (time << 1) ^ (time >> 63)))
        switch kind {
        case let .sessionCreated(p):
            w.string(1, p.sessionID)
            w.string(2, p.nonce)
            w.string(3, p.config)
            w.string(4, p.datasetPath)
            w.string(5, p.datasetFingerprint)
            w.uint(6, p.instanceCount)
            w.string(7, p.host)
            w.string(8, p.veloraVersion)
        case let .runQueued(p):
            w.uint(1, UInt64(p.run))
            w.string(2, p.model)
            w.string(3, p.instanceID)
            w.uint(4, UInt64(p.datasetIndex))
            w.string(5, p.folder)
        case let .attemptStarted(p), let .attemptPrepared(p):
            w.uint(1, UInt64(p.run))
            w.uint(2, UInt64(p.attempt))
            w.string(3, p.executor)
            w.int(4, p.pid.map(Int64.init))
            w.int(5, p.pgid.map(Int64.init))
            w.string(6, p.jobID)
            w.string(7, p.host)
            w.strings(8, p.argv)
            w.string(9, p.outputDir)
            w.uint(10, p.timeoutMs)
        case let .attemptSucceeded(p), let .attemptFailed(p), let .attemptTimedOut(p), let .attemptInterrupted(p):
            w.uint(1, UInt64(p.run))
            w.uint(2, UInt64(p.attempt))
            w.int(3, p.exitCode.map(Int64.init))
            w.int(4, p.signal.map(Int64.init))
            w.uint(5, p.durationMs)
            w.string(6, p.reason)
            w.string(7, p.executorState)
            w.bool(8, p.byRunner)
        case let .attemptMetrics(p):
            w.uint(1, UInt64(p.run))
            w.uint(2, UInt64(p.attempt))
            w.string(3, p.format)
            w.string(4, p.file)
            w.string(5, p.exitStatus)
            w.bool(6, p.submitted)
            w.uint(7, p.submissionBytes)
            w.double(8, p.cost)
            w.uint(9, p.tokensSent)
            w.uint(10, p.tokensReceived)
            w.uint(11, p.apiCalls)
            w.string(12, p.note)
        case let .retryScheduled(p):
            w.uint(1, UInt64(p.run))
            w.uint(2, UInt64(p.nextAttempt))
            w.int(3, p.notBefore)
            w.string(4, p.reason)
        case let .retryRequested(p):
            for run in p.runs { w.uint(1, UInt64(run)) }
            w.string(2, p.selection)
        case let .runnerStarted(p):
            w.int(1, Int64(p.pid))
            w.string(2, p.host)
            w.string(3, p.veloraVersion)
            w.string(4, p.command)
            w.string(5, p.executor)
        case let .runnerStopped(p):
            w.string(1, p.reason)
            w.int(2, Int64(p.exitCode))
            w.string(3, p.detail)
        case let .sessionCompleted(p):
            w.uint(1, p.runs)
            w.uint(2, p.succeeded)
        case let .logRepaired(p):
            w.uint(1, p.offset)
            w.uint(2, p.droppedBytes)
        case let .unknown(_, payload):
            // Re-encoding an unknown event keeps its fields as they were.
            return w.bytes + payload
        }
        return w.bytes
    }

    /// Decodes a record of type `code` whose payload is `payload`.
    public static func decode(code: UInt8, payload: UnsafeRawBufferPointer) throws(FieldReader.Malformed) -> Event {
        var r = FieldReader(payload)
        let seq = try r.varint()
        let time = try r.int()
        let kind: EventKind
        switch code {
        case 1:
            var p = SessionCreated(sessionID: "", nonce: "", config: "", datasetPath: "", datasetFingerprint: "",
                                   instanceCount: 0, host: "", veloraVersion: "")
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.sessionID = try r.string()
                case 2: p.nonce = try r.string()
                case 3: p.config = try r.string()
                case 4: p.datasetPath = try r.string()
                case 5: p.datasetFingerprint = try r.string()
                case 6: p.instanceCount = try r.uint()
                case 7: p.host = try r.string()
                case 8: p.veloraVersion = try r.string()
                default: try r.skip(wire)
                }
            }
            kind = .sessionCreated(p)
        case 2:
            var p = RunQueued(run: 0, model: "", instanceID: "", datasetIndex: 0, folder: "")
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.run = try r.uint32()
                case 2: p.model = try r.string()
                case 3: p.instanceID = try r.string()
                case 4: p.datasetIndex = try r.uint32()
                case 5: p.folder = try r.string()
                default: try r.skip(wire)
                }
            }
            kind = .runQueued(p)
        case 3, 15:
            var p = AttemptStarted(run: 0, attempt: 0, executor: "", host: "", argv: [], outputDir: "", timeoutMs: 0)
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.run = try r.uint32()
                case 2: p.attempt = try r.uint32()
                case 3: p.executor = try r.string()
                case 4: p.pid = try r.int32()
                case 5: p.pgid = try r.int32()
                case 6: p.jobID = try r.string()
                case 7: p.host = try r.string()
                case 8: p.argv.append(try r.string())
                case 9: p.outputDir = try r.string()
                case 10: p.timeoutMs = try r.uint()
                default: try r.skip(wire)
                }
            }
            kind = code == 3 ? .attemptStarted(p) : .attemptPrepared(p)
        case 4, 5, 6, 7:
            var p = AttemptEnded(run: 0, attempt: 0, reason: "")
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.run = try r.uint32()
                case 2: p.attempt = try r.uint32()
                case 3: p.exitCode = try r.int32()
                case 4: p.signal = try r.int32()
                case 5: p.durationMs = try r.uint()
                case 6: p.reason = try r.string()
                case 7: p.executorState = try r.string()
                case 8: p.byRunner = try r.bool()
                default: try r.skip(wire)
                }
            }
            switch code {
            case 4: kind = .attemptSucceeded(p)
            case 5: kind = .attemptFailed(p)
            case 6: kind = .attemptTimedOut(p)
            default: kind = .attemptInterrupted(p)
            }
        case 8:
            var p = AttemptMetrics(run: 0, attempt: 0)
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.run = try r.uint32()
                case 2: p.attempt = try r.uint32()
                case 3: p.format = try r.string()
                case 4: p.file = try r.string()
                case 5: p.exitStatus = try r.string()
                case 6: p.submitted = try r.bool()
                case 7: p.submissionBytes = try r.uint()
                case 8: p.cost = try r.double()
                case 9: p.tokensSent = try r.uint()
                case 10: p.tokensReceived = try r.uint()
                case 11: p.apiCalls = try r.uint()
                case 12: p.note = try r.string()
                default: try r.skip(wire)
                }
            }
            kind = .attemptMetrics(p)
        case 9:
            var p = RetryScheduled(run: 0, nextAttempt: 0, notBefore: 0, reason: "")
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.run = try r.uint32()
                case 2: p.nextAttempt = try r.uint32()
                case 3: p.notBefore = try r.int()
                case 4: p.reason = try r.string()
                default: try r.skip(wire)
                }
            }
            kind = .retryScheduled(p)
        case 10:
            var p = RetryRequested(runs: [], selection: "")
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.runs.append(try r.uint32())
                case 2: p.selection = try r.string()
                default: try r.skip(wire)
                }
            }
            kind = .retryRequested(p)
        case 11:
            var p = RunnerStarted(pid: 0, host: "", veloraVersion: "", command: "", executor: "")
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.pid = try r.int32()
                case 2: p.host = try r.string()
                case 3: p.veloraVersion = try r.string()
                case 4: p.command = try r.string()
                case 5: p.executor = try r.string()
                default: try r.skip(wire)
                }
            }
            kind = .runnerStarted(p)
        case 12:
            var p = RunnerStopped(reason: "", exitCode: 0)
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.reason = try r.string()
                case 2: p.exitCode = try r.int32()
                case 3: p.detail = try r.string()
                default: try r.skip(wire)
                }
            }
            kind = .runnerStopped(p)
        case 13:
            var p = SessionCompleted(runs: 0, succeeded: 0)
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.runs = try r.uint()
                case 2: p.succeeded = try r.uint()
                default: try r.skip(wire)
                }
            }
            kind = .sessionCompleted(p)
        case 14:
            var p = LogRepaired(offset: 0, droppedBytes: 0)
            while let (field, wire) = try r.next() {
                switch field {
                case 1: p.offset = try r.uint()
                case 2: p.droppedBytes = try r.uint()
                default: try r.skip(wire)
                }
            }
            kind = .logRepaired(p)
        default:
            let rest = UnsafeRawBufferPointer(rebasing: payload[r.position...])
            kind = .unknown(code: code, payload: Array(rest))
        }
        return Event(seq: seq, time: time, kind: kind)
    }
}
