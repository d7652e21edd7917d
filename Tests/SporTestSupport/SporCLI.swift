import Foundation

/// One organisation's workspace driven through the `spor` executable, as people and
/// scripts run it: every call is a new process with `SPOR_HOME` set to the
/// workspace's directory and `SPOR_NOW` to the workspace's wall-clock time (so a
/// test can walk a proposal through a round's deadlines).
public struct SporCLI: Sendable {
    public struct CommandFailed: Error, CustomStringConvertible {
        public let description: String
    }

    public let home: String
    public let executable: URL
    /// The time `spor` sees (`SPOR_NOW`, ISO 8601 UTC).
    public var now = "2024-02-01T12:00:00Z"

    public init(home: String = temporaryTestDirectory("spor-cli")) throws {
        self.home = home
        executable = try SpawnedServer.builtExecutable("spor")
    }

    /// An English locale unless a test says otherwise (`environment:` `LANG`), whatever
    /// the machine running the tests uses: `spor` speaks Danish in a Danish one.
    public var environment: [String: String] {
        ["SPOR_HOME": home, "SPOR_NOW": now, "LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"]
    }

    /// Runs `spor` with `arguments`, whatever its exit status.
    @discardableResult
    public func run(_ arguments: String..., input: String? = nil, environment extra: [String: String] = [:]) throws -> ProcessOutput {
        try runProcess(executable, arguments, environment: environment.merging(extra) { $1 }, input: input)
    }

    /// Runs a command that must succeed and returns its standard output.
    @discardableResult
    public func ok(_ arguments: String..., input: String? = nil, environment extra: [String: String] = [:]) throws -> String {
        let output = try runProcess(executable, arguments, environment: environment.merging(extra) { $1 }, input: input)
        guard output.status == 0 else {
            throw CommandFailed(description: "spor \(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)")
        }
        return output.stdout
    }

    /// Runs a command with `--json` that must succeed and returns the object it printed.
    public func json(_ arguments: String...) throws -> [String: Any] {
        let output = try runProcess(executable, arguments + ["--json"], environment: environment)
        guard output.status == 0,
              let object = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any] else {
            throw CommandFailed(description: "spor \(arguments.joined(separator: " ")) --json: \(output.status) \(output.stderr)")
        }
        return object
    }

    /// `spor setup` against `server` for a new organisation there.
    public func setUp(_ server: ServerProcess, _ name: String, kind: String, code: String) throws {
        try ok("setup", "--server", server.address, "--token", try server.addOrganisation(name, kind: kind, code: code))
    }

    /// Creates a proposal (`spor new`) and returns its id.
    public func newProposal(_ arguments: String...) throws -> String {
        try runProcess(executable, ["new"] + arguments, environment: environment).requireSuccess("spor new")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension ProcessOutput {
    /// Standard output, or a `CommandFailed` naming `what` and the exit status.
    public func requireSuccess(_ what: String) throws -> String {
        guard status == 0 else { throw SporCLI.CommandFailed(description: "\(what) exited \(status): \(stderr)") }
        return stdout
    }
}
