import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SporProposal
import SporServer
import SporWire

@main
struct SporServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spor-server",
        abstract: "Spor's sync server: relays proposal changes between organisations and stores them durably.",
        discussion: """
            Data lives in one directory (--data, default $SPOR_DATA or ./spor-data) holding an SQLite \
            database. Admin commands work on the same directory while the server runs.

            Exit codes: 0 success, 1 refused (bad argument, unknown organisation, taken name), \
            2 usage error, 3 storage error.
            """,
        version: SporRelease.version,
        subcommands: [Serve.self, Org.self, Token.self, RoundCommand.self, Backup.self, Restore.self, Audit.self, Webhooks.self],
        defaultSubcommand: Serve.self
    )

    static func main() async {
        // The store holds every proposal and the token hashes: what the server and its
        // admin commands create is readable by this user only.
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options shared by every subcommand.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "The data directory (default: $SPOR_DATA or ./spor-data).")
    var data: String?

    @Flag(name: .customLong("init"), help: "Create a new data directory if there is none (`serve` does on its first start).")
    var initialize = false

    var directory: String { data ?? ProcessInfo.processInfo.environment["SPOR_DATA"] ?? "spor-data" }

    /// Opens the store in ``directory``. Unless `creating` (serve) or `--init`, a
    /// directory without a Spor database is refused, so that a mistyped `--data`
    /// never creates an empty store whose tokens the running server does not know.
    func openStore(creating: Bool = false) throws -> SporStore {
        let database = (directory as NSString).appendingPathComponent("spor.sqlite")
        guard creating || initialize || FileManager.default.fileExists(atPath: database) else {
            throw CommandFailure(exitCode: 1, message: "\(directory) is not a Spor data directory (it has no spor.sqlite): give the "
                                 + "server's --data (or SPOR_DATA), or add --init to create a new one")
        }
        do {
            return try SporStore(directory: directory)
        } catch {
            throw CommandFailure(exitCode: 3, message: "cannot open the data directory \(directory): \(error)")
        }
    }
}

/// A failure with a message for people and a documented exit code.
struct CommandFailure: Error, CustomStringConvertible {
    let exitCode: Int32
    let message: String
    var description: String { message }
}

/// Runs `body`, turning refusals into a message on stderr and exit code 1.
func reportingFailures<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let failure as CommandFailure {
        FileHandle.standardError.write(Data("error: \(failure.message)\n".utf8))
        throw ExitCode(failure.exitCode)
    } catch let error as ServerError {
        FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
        throw ExitCode(1)
    } catch let error as ProposalError {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// `HOST:PORT`, `[IPv6]:PORT` or `:PORT`.
func parseHostPort(_ text: String, option: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
        throw ValidationError("\(option) must be HOST:PORT with a port 0-65535, not \(String(reflecting: text))")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "127.0.0.1" : host, port)
}
