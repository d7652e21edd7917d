import Foundation
import Synchronization

/// `spor-server` (and the other executables) run as real processes by tests.
public enum SpawnedServer {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// An executable built next to the test bundle (`swift build --build-tests`
    /// builds every product).
    public static func builtExecutable(_ name: String) throws -> URL {
        var directory = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw Failure(description: "\(name) executable not found near \(Bundle.main.bundleURL.path)")
    }

    /// Starts `spor-server serve` on loopback `port` (0: any free port) with
    /// `arguments` added (and `environment`, e.g. `SPOR_SERVER_NOW` to start the
    /// server's clock at a test's instant), and returns the process, the port it
    /// announced and what it printed up to then.
    ///
    /// The HELLO timeout is long: in a parallel test run on 2 cores a test's task can
    /// wait seconds for a thread between connecting and sending HELLO. The server's
    /// stderr is not the test runner's: a server left running must not keep the
    /// runner's output open.
    public static func serve(directory: String, port: Int = 0, arguments: [String] = [],
                             environment: [String: String] = [:]) throws -> (Process, Int, String) {
        let process = Process()
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.executableURL = try builtExecutable("spor-server")
        process.arguments = ["serve", "--data", directory, "--listen", "127.0.0.1:\(port)", "--log-level", "error",
                             "--hello-timeout", "120"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        SpawnedServers.register(process.processIdentifier)
        var text = ""
        while true {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw Failure(description: "spor-server exited before listening: \(text)") }
            text += String(decoding: chunk, as: UTF8.self)
            // With --web, the web port's line follows the sync port's.
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on 127.0.0.1:") }),
               let port = Int(line.split(separator: ":").last ?? ""),
               !arguments.contains("--web") || text.contains("web overview on ") && text.hasSuffix("\n") {
                return (process, port, text)
            }
        }
    }

    /// Kills a server a test started (SIGKILL), whatever state it is in.
    public static func stop(_ process: Process) {
        SpawnedServers.forget(process.processIdentifier)
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Every server a test started and has not stopped, killed when the test process
/// exits: a server kept for a whole run (a suite's shared fixture) must not outlive it.
enum SpawnedServers {
    private static let running = Mutex<Set<pid_t>>([])
    private static let hook: Void = { atexit { SpawnedServers.killAll() } }()

    static func register(_ pid: pid_t) {
        _ = hook
        running.withLock { _ = $0.insert(pid) }
    }

    static func forget(_ pid: pid_t) {
        running.withLock { _ = $0.remove(pid) }
    }

    static func killAll() {
        for pid in running.withLock({ $0 }) { kill(pid, SIGKILL) }
    }
}
