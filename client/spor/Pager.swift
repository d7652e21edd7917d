import Foundation

/// Long text a page at a time on a terminal, as git shows its log: through
/// `$SPOR_PAGER`, else `$PAGER`, else `less -FRX` (which quits at once when the text
/// fits on the screen and leaves it there), else `more`. Only when standard output
/// is a terminal; an empty pager or `cat` turns it off. If the pager cannot be
/// started the text is printed as usual: nothing is ever lost to a missing pager.
enum Pager {
    static func show(_ text: String) {
        let output = text.hasSuffix("\n") ? text : text + "\n"
        guard isatty(STDOUT_FILENO) == 1, let command = command(), run(command, output) else {
            FileHandle.standardOutput.write(Data(output.utf8))
            return
        }
    }

    private static func command() -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let chosen = environment["SPOR_PAGER"] ?? environment["PAGER"] {
            let trimmed = chosen.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty || trimmed == "cat" ? nil : trimmed
        }
        for (program, arguments) in [("less", " -FRX"), ("more", "")] where isInstalled(program) {
            return program + arguments
        }
        return nil
    }

    private static func isInstalled(_ program: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
    }

    /// Runs `command` with `text` on its standard input and waits for it; false if it
    /// could not be started or the shell could not find it (then nothing was shown).
    private static func run(_ command: String, _ text: String) -> Bool {
        var pipe: [Int32] = [0, 0]
        guard Foundation.pipe(&pipe) == 0 else { return false }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[0], STDIN_FILENO)
        posix_spawn_file_actions_addclose(&actions, pipe[1])
        let arguments = ["/bin/sh", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ)
        close(pipe[0])
        guard spawned == 0 else {
            close(pipe[1])
            return false
        }
        // A pager that quits early (q) closes the pipe: the rest is not wanted.
        signal(SIGPIPE, SIG_IGN)
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBufferPointer { write(pipe[1], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
        close(pipe[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // 126, 127: the shell could not run the pager (not executable, not found).
        let exited = (status & 0x7F) == 0, code = (status >> 8) & 0xFF
        return !(exited && (code == 126 || code == 127))
    }
}
