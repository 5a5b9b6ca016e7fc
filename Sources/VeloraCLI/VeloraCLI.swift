#if canImport(Glibc)
import Glibc
#endif
import Foundation
import VeloraEvents
import VeloraRunner

/// velora's exit codes, in one place (SPEC: "Exit codes").
public enum ExitCode {
    public static let success: Int32 = 0
    public static let failedRuns: Int32 = 1
    public static let usage: Int32 = 2
    public static let locked: Int32 = 3
    public static let corruptLog: Int32 = 4
    public static let interrupted: Int32 = 130

    static func of(_ error: RunnerError) -> Int32 {
        switch error {
        case .invalidInput: usage
        case .locked: locked
        case .corruptLog: corruptLog
        case .session, .system: failedRuns
        }
    }
}

/// Where a command writes; tests swap it for buffers.
public final class Console: @unchecked Sendable {
    public var out: (String) -> Void
    public var err: (String) -> Void
    public var isTerminal: Bool
    public var environment: [String: String]
    public var cwd: String

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void, isTerminal: Bool,
                environment: [String: String], cwd: String) {
        self.out = out
        self.err = err
        self.isTerminal = isTerminal
        self.environment = environment
        self.cwd = cwd
    }

    public static func standard() -> Console {
        Console(out: { text in writeStdout(text) }, err: { text in writeFD(2, text) },
                isTerminal: isatty(1) == 1, environment: ProcessInfo.processInfo.environment,
                cwd: FileManager.default.currentDirectoryPath)
    }

    public var colors: Bool { isTerminal && environment["NO_COLOR"] == nil }
}

func writeFD(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return write(fd, base + offset, raw.count - offset)
        }
        if n <= 0 { if errno == EINTR { continue }; return }
        offset += n
    }
}

func writeStdout(_ text: String) { writeFD(1, text) }

/// One subcommand: its declaration and what it does.
protocol VeloraCommand: SendableMetatype {
    static var spec: CommandSpec { get }
    static func run(_ args: ParsedArguments, _ console: Console) throws -> Int32
}

/// A command in the registry: its declaration and its entry point.
struct CommandEntry: Sendable {
    let spec: CommandSpec
    let run: @Sendable (ParsedArguments, Console) throws -> Int32

    init<C: VeloraCommand>(_ command: C.Type) {
        spec = C.spec
        run = { try C.run($0, $1) }
    }
}

public enum VeloraCLI {
    static let commands: [CommandEntry] = [
        CommandEntry(InitCommand.self), CommandEntry(RunCommand.self), CommandEntry(ResumeCommand.self),
        CommandEntry(StatusCommand.self), CommandEntry(ReportCommand.self), CommandEntry(RetryCommand.self),
        CommandEntry(LogCommand.self), CommandEntry(VerifyCommand.self), CommandEntry(SessionsCommand.self),
        CommandEntry(SubsetCommand.self), CommandEntry(CancelCommand.self),
    ]

    public static func main() -> Never {
        exit(run(Array(CommandLine.arguments.dropFirst()), console: .standard()))
    }

    static var overview: String {
        var lines = ["velora — runs a coding agent once per (model, instance), supervised, with an event log", "",
                     "usage: velora COMMAND [options]   (velora COMMAND --help for its options)", "", "commands:"]
        for c in commands {
            let name = c.spec.name
            lines.append("  " + name + String(repeating: " ", count: max(1, 10 - name.count)) + c.spec.summary)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Runs one command line and returns the exit code.
    public static func run(_ arguments: [String], console: Console) -> Int32 {
        guard let name = arguments.first else {
            console.err(overview)
            return ExitCode.usage
        }
        if name == "--help" || name == "-h" || name == "help" {
            console.out(overview)
            return ExitCode.success
        }
        if name == "--version" {
            console.out("velora \(veloraVersion)\n")
            return ExitCode.success
        }
        guard let command = commands.first(where: { $0.spec.name == name }) else {
            let hint = commands.map(\.spec.name).first { editDistance($0, name) <= 2 }.map { " (did you mean \($0)?)" } ?? ""
            console.err("velora: unknown command \(name.debugDescription)\(hint)\n\n" + overview)
            return ExitCode.usage
        }
        do {
            let args = try command.spec.parse(Array(arguments.dropFirst()))
            if args.helpRequested {
                console.out(command.spec.help)
                return ExitCode.success
            }
            return try command.run(args, console)
        } catch let error as UsageError {
            console.err("\(error.message)\n")
            return ExitCode.usage
        } catch let error as RunnerError {
            console.err("velora: \(error.description)\n")
            return ExitCode.of(error)
        } catch let error as EventsError {
            let wrapped = RunnerError(error)
            console.err("velora: \(wrapped.description)\n")
            return ExitCode.of(wrapped)
        } catch {
            console.err("velora: \(error)\n")
            return ExitCode.failedRuns
        }
    }
}
