import Foundation

/// A new empty directory under the system's temporary directory.
public func temporaryTestDirectory(_ prefix: String = "spor-test") -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

public struct ProcessOutput {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs `executable` to completion with `environment` added to this process's.
public func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:],
                input: String? = nil) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let inputPipe = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : inputPipe
    try process.run()
    if let input {
        inputPipe.fileHandleForWriting.write(Data(input.utf8))
        try inputPipe.fileHandleForWriting.close()
    }
    // Read both pipes concurrently so that neither fills and blocks the child.
    let errorData = LockedData()
    let reader = Thread { errorData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errorData.isSet { usleep(1000) }
    return ProcessOutput(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: errorData.value, as: UTF8.self))
}

/// `@unchecked Sendable`: every access goes through `lock`.
final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    var isSet: Bool { lock.withLock { data != nil } }
    var value: Data { lock.withLock { data ?? Data() } }
}

/// A real `spor-server` process on a loopback port, with its data directory.
public final class ServerProcess: @unchecked Sendable {
    // `@unchecked Sendable`: `process` is replaced only by `restart()`, which tests
    // call from one task at a time; the other fields never change.
    public let directory: String
    public private(set) var port: Int
    /// The web overview's port, when started with `--web`.
    public private(set) var webPort: Int?
    private var process: Process
    public let executable: URL
    private let extraArguments: [String]
    private var environment: [String: String]

    /// Starts a server on a new data directory (`port` 0: any free port), with
    /// `arguments` added to `serve`'s. `clock`: the instant the server's clock starts
    /// at (`SPOR_SERVER_NOW`), for tests that rehearse a round's deadlines.
    public init(directory: String = temporaryTestDirectory(), port: Int = 0, arguments: [String] = [],
                clock: String? = nil) throws {
        self.directory = directory
        extraArguments = arguments
        environment = clock.map { ["SPOR_SERVER_NOW": $0] } ?? [:]
        executable = try SpawnedServer.builtExecutable("spor-server")
        (process, self.port, webPort) = try Self.serve(directory: directory, port: port, arguments: arguments, environment: environment)
    }

    private static func serve(directory: String, port: Int, arguments: [String], environment: [String: String]) throws -> (Process, Int, Int?) {
        let (process, port, text) = try SpawnedServer.serve(directory: directory, port: port, arguments: arguments, environment: environment)
        // "web overview on http://127.0.0.1:PORT/"
        let webPort = text.split(separator: "\n").first { $0.hasPrefix("web overview on ") }
            .flatMap { Int($0.split(separator: ":").last?.dropLast() ?? "") }
        return (process, port, webPort)
    }

    /// The web overview's address ("http://127.0.0.1:PORT"), when started with `--web`.
    public var webAddress: String? { webPort.map { "http://127.0.0.1:\($0)" } }

    /// The secretariat's token, as the first start wrote it into the data directory.
    public func secretariatToken() throws -> String {
        try String(contentsOfFile: (directory as NSString).appendingPathComponent("secretariat-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public var address: String { "127.0.0.1:\(port)" }

    /// Adds an organisation and returns its token.
    public func addOrganisation(_ name: String, kind: String, code: String? = nil) throws -> String {
        var arguments = ["org", "add", name, "--kind", kind, "--data", directory]
        if let code { arguments += ["--code", code] }
        let output = try runProcess(executable, arguments)
        guard output.status == 0, let token = output.stdout.split(separator: "\n").last.map(String.init), token.hasPrefix("spor_") else {
            throw SpawnedServer.Failure(description: "org add \(name) failed: \(output.stderr)")
        }
        return token
    }

    public func admin(_ arguments: [String]) throws -> ProcessOutput {
        try runProcess(executable, arguments + ["--data", directory])
    }

    /// CPU seconds the server process has used so far (user + system, from /proc), or
    /// nil if it is not running: tells a busy server from a waiting one in failure reports.
    public var cpuSeconds: Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The server's peak resident memory so far (VmHWM), in bytes.
    public var peakResidentBytes: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        return kilobytes * 1024
    }

    /// Kills the server (SIGKILL: no goodbye to clients).
    public func kill() {
        SpawnedServer.stop(process)
    }

    /// Starts the server again on the same port and data.
    public func restart() throws {
        kill()
        (process, port, webPort) = try Self.serve(directory: directory, port: port, arguments: extraArguments, environment: environment)
    }

    /// Starts the server again on the same port and data with its clock starting at
    /// `clock` (`SPOR_SERVER_NOW`): a test moving through the days of a round moves the
    /// server's clock with it.
    public func restart(clock: String) throws {
        environment["SPOR_SERVER_NOW"] = clock
        try restart()
    }

    deinit { kill() }
}

/// A TCP listener on loopback that answers every connection with `reply` and closes
/// it (or, with nil, accepts and stays silent): a server that is not Spor.
public final class NotASporServer: @unchecked Sendable {
    // `@unchecked Sendable`: `descriptor` and `port` never change after init; the
    // accept thread only reads them.
    public let port: Int
    private let descriptor: Int32

    public init(reply: String?) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        descriptor = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw SpawnedServer.Failure(description: "cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                if let reply {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    _ = read(client, &buffer, buffer.count)
                    _ = reply.utf8CString.withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count - 1) }
                    close(client)
                }
            }
        }.start()
    }

    deinit {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }
}

/// The server test suite's TLS material (a private CA and a certificate for
/// `localhost` and `127.0.0.1`), read from the source tree.
public func tlsTestFile(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("SporServerTests/Resources/\(name)").path
}
