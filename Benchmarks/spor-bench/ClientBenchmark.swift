import ArgumentParser
import Foundation
import Glibc
import SporClient
import SporCRDT
import SporProposal
import SporWorkloads

/// `spor-bench client [--spor PATH] [--runs N]`: the `spor` executable as people use
/// it, timed from outside the process.
struct ClientBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Time `spor show` on a 100k-event proposal and saving a 50 KB section edited in $EDITOR.",
        discussion: """
            Seeds a workspace with the proposal of `spor-bench proposal` (ProposalHistory), then \
            prints one JSON object: showMs / showJsonMs — `spor show ID` (and --json) from \
            process start to exit, output written; editSaveMs — from the moment a stand-in \
            $EDITOR exits (it changes one sentence of a 50 KB section and records the time \
            as its last act) until `spor edit` has committed the change durably and exited; \
            editTotalMs — the whole `spor edit` process. Medians over --runs.
            """
    )

    @Option(help: "The spor executable (a release build).") var spor = ".build/release/spor"
    @Option(help: "Events of history in the proposal.") var events = 100_000
    @Option(help: "Size of the edited section in bytes.") var sectionBytes = 50_000
    @Option(help: "Runs per measurement (median reported).") var runs = 21
    @Option(help: "Keep the seeded workspace in this directory (for profiling) instead of a temporary one.") var workspace: String?

    func run() throws {
        let home = self.workspace ?? FileManager.default.temporaryDirectory.appendingPathComponent("spor-bench-client-\(UUID().uuidString)").path
        defer { if self.workspace == nil { try? FileManager.default.removeItem(atPath: home) } }
        let workspace = try Workspace(directory: home)
        _ = try workspace.configure(server: ServerSettings(host: "127.0.0.1", port: 9, token: "spor_bench"), organisation: "0751",
                                    organisationName: "Aarhus Kommune", organisationKind: "kommune", agentPrefix: "0751/")
        let history = try ProposalHistory(seed: 2024, targetEvents: events)
        try workspace.importDocument(history.proposal.document, as: "bigproposal")

        // A second proposal with one 50 KB section, for the edit.
        let editID = try workspace.createProposal(title: "Redigering", roundID: "2024-spring",
                                                  now: Date(timeIntervalSince1970: 1_706_788_800))
        var paragraph = ""
        var number = 0
        while paragraph.utf8.count < sectionBytes {
            paragraph += "Sætning \(number) om klimatilpasning, skybrud og grønne tage i kommunerne. "
            if number % 8 == 7 { paragraph += "\n\n" }
            number += 1
        }
        try workspace.change(editID) { try $0.setSection(.activities, to: paragraph) }
        try workspace.compact(editID)

        var environment = ProcessInfo.processInfo.environment
        environment["SPOR_HOME"] = home
        var showMs: [Double] = [], showJSONMs: [Double] = []
        var shownBytes = 0
        for _ in 0..<runs {
            let (elapsed, output) = try Self.time(spor, ["show", "bigproposal"], environment: environment)
            showMs.append(elapsed)
            shownBytes = output
            showJSONMs.append(try Self.time(spor, ["show", "bigproposal", "--json"], environment: environment).0)
        }

        // The stand-in editor: replaces one sentence (a different one each run), then
        // writes the clock as its very last act.
        let stampFile = (home as NSString).appendingPathComponent("editor-exit")
        let editor = (home as NSString).appendingPathComponent("editor.sh")
        try Data("""
            #!/bin/sh
            n=$(cat "\(home)/run")
            sed -i "s/Sætning $n om/Sætning $n (redigeret) om/" "$1"
            date +%s%N > "\(stampFile)"

            """.utf8).write(to: URL(fileURLWithPath: editor))
        chmod(editor, 0o755)
        var saveMs: [Double] = [], totalMs: [Double] = []
        for run in 0..<runs {
            try Data("\(run * 7 % number)".utf8).write(to: URL(fileURLWithPath: (home as NSString).appendingPathComponent("run")))
            let (total, _) = try Self.time(spor, ["edit", editID, "activities"], environment: environment.merging(["EDITOR": editor]) { $1 })
            // `date +%s%N` is wall-clock time, so the process end is read from the same clock.
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let wallEnd = Double(now.tv_sec) * 1e9 + Double(now.tv_nsec)
            let stamp = try String(contentsOfFile: stampFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let editorExit = Double(stamp) else { throw ValidationError("the editor wrote no time") }
            saveMs.append((wallEnd - editorExit) / 1e6)
            totalMs.append(total)
        }
        let text = try workspace.proposal(editID).content().text(.activities)
        guard text.contains("(redigeret)"), text.utf8.count >= sectionBytes else { throw ValidationError("the edits were not saved") }

        let result: [String: Any] = [
            "events": try workspace.document("bigproposal").eventCount, "showOutputBytes": shownBytes, "runs": runs,
            "showMs": median(showMs), "showMsMax": showMs.max() ?? 0, "showJsonMs": median(showJSONMs),
            "sectionBytes": paragraph.utf8.count, "editSaveMs": median(saveMs), "editSaveMsMax": saveMs.max() ?? 0,
            "editTotalMs": median(totalMs),
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Runs the executable to exit; returns the wall time in ms (spawn to exit, all
    /// output read) and the bytes it printed. Spawned with `posix_spawn` and awaited
    /// with `waitpid`: Foundation's `Process` adds tens of milliseconds of its own on
    /// Linux, which would be measured as spor's.
    static func time(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> (Double, Int) {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw ValidationError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let start = ContinuousClock.now
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(pipe[1])
        guard spawned == 0 else {
            close(pipe[0])
            throw ValidationError("cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(pipe[0], &buffer, buffer.count)
            if count > 0 { total += count } else if count == 0 || errno != EINTR { break }
        }
        close(pipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let elapsed = ContinuousClock.now - start
        guard status == 0 else {
            throw ValidationError("\(executable) \(arguments.joined(separator: " ")) failed (wait status \(status))")
        }
        return (Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15, total)
    }

    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
