#if canImport(Glibc)
import Glibc
#endif
import VeloraEvents
import VeloraReplay
import VeloraRunner

/// Reads a session's log, and with `follow` keeps reading as a live runner
/// appends: it sleeps in inotify until the events folder changes (no busy
/// polling, no lock taken). A partial last record is simply not read yet.
struct LogFollower {
    let layout: SessionLayout

    /// Calls `onEvent` once per event, in order; when following, `onIdle` after each
    /// batch (and at least once a second, for clocks). Returns when the log ends
    /// (not following), or when no runner is live any more.
    func read(follow: Bool, onEvent: (Event) -> Void, onIdle: () -> Void = {}) throws {
        var lastSeq: UInt64 = 0
        var offset: UInt64?
        var path = layout.readableLogPath
        let inotify = follow ? inotify_init1(Int32(IN_CLOEXEC)) : -1
        defer { if inotify >= 0 { _ = close(inotify) } }
        if inotify >= 0 {
            _ = inotify_add_watch(inotify, layout.eventsDir, UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE))
        }
        /// Reads what is new; a log that was compressed meanwhile is read whole, skipping what was seen.
        func catchUp() throws {
            if let p = path, !fileExists(p) { path = layout.readableLogPath; offset = nil }
            guard let p = path ?? layout.readableLogPath else { throw RunnerError.session("\(layout.root): no event log") }
            path = p
            let reader = try LogReader(path: p, from: offset)
            while let event = try reader.next() {
                guard event.seq > lastSeq else { continue }
                lastSeq = event.seq
                onEvent(event)
            }
            offset = reader.compressed ? nil : reader.goodOffset
        }
        try catchUp()
        guard follow else { return }
        while true {
            onIdle()
            if SessionLock.liveHolder(layout: layout) == nil {
                try catchUp()  // what the last writer wrote before it let go
                onIdle()
                return
            }
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 1, 1000) > 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = buffer.withUnsafeMutableBytes { Glibc.read(inotify, $0.baseAddress, $0.count) }
            }
            try catchUp()
        }
    }
}
