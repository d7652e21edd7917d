#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SporClient
import SporProposal

/// A section opened in `$EDITOR` (default `vi`): the text goes to a file in the
/// workspace's `edits` directory, the editor runs on the terminal, and the saved file
/// is read back as UTF-8. The file is removed only after the change is saved, so a
/// failed save (disk full, refused edit) never loses what was typed.
struct EditorSession {
    let path: String

    init(section: Section, proposal: String, text: String) throws {
        let directory = (Workspace.defaultDirectory() as NSString).appendingPathComponent("edits")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let stamp = Int(Date().timeIntervalSince1970)
            path = (directory as NSString).appendingPathComponent("\(proposal)-\(section.key)-\(stamp)-\(getpid()).md")
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandFailure(message: Help.text("kan ikke skrive filen, der skal redigeres, i \(directory): \(error.localizedDescription)", "cannot write the file to edit in \(directory): \(error.localizedDescription)"),
                                 name: "cannotWrite", exitCode: 4)
        }
    }

    /// Runs the editor on this terminal and returns the saved text.
    ///
    /// The editor is started with `posix_spawn` and awaited with `waitpid`, so spor
    /// goes on the moment it exits (no run-loop polling between the save and the
    /// commit).
    func run() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let configured = [environment["VISUAL"], environment["EDITOR"]].compactMap { $0 }.first { !$0.isEmpty }
        guard configured != nil || isatty(STDIN_FILENO) == 1 else {
            throw CommandFailure(message: Help.text("ingen terminal at køre vi i, og EDITOR er ikke sat; intet blev ændret", "no terminal to run vi on, and EDITOR is not set; nothing was changed"),
                                 hint: Help.text("Giv teksten med --from FIL (eller --from - for standardinput), eller sæt EDITOR.", "Give the text with --from FILE (or --from - for standard input), or set EDITOR."),
                                 name: "editor", exitCode: 2)
        }
        let editor = configured ?? "vi"
        // The editor command may carry arguments ("code --wait"); the file is "$1".
        let arguments = ["/bin/sh", "-c", "\(editor) \"$1\"", "spor-edit", path]
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ)
        guard spawned == 0 else {
            throw CommandFailure(message: Help.text("kan ikke starte editoren \(String(reflecting: editor)): \(String(cString: strerror(spawned)))", "cannot start the editor \(String(reflecting: editor)): \(String(cString: strerror(spawned)))"),
                                 hint: Help.text("Sæt EDITOR til en installeret editor, eller brug --from FIL.", "Set EDITOR to an editor that is installed, or use --from FILE."), name: "editor", exitCode: 2)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = (status & 0x7F) == 0
        let code = (status >> 8) & 0xFF
        guard exited, code == 0 else {
            throw CommandFailure(message: Help.text("editoren \(String(reflecting: editor)) \(exited ? "sluttede med status \(code)" : "blev stoppet af et signal"); intet blev gemt", "the editor \(String(reflecting: editor)) \(exited ? "exited with status \(code)" : "was stopped by a signal"); nothing was saved"),
                                 hint: Help.text("Din tekst er gemt i \(path).", "Your text is kept in \(path)."), name: "editor", exitCode: 2)
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure(message: Help.text("den redigerede fil er ikke UTF-8-tekst; intet blev gemt", "the edited file is not UTF-8 text; nothing was saved"),
                                 hint: Help.text("Din tekst er gemt i \(path).", "Your text is kept in \(path)."), name: "editor", exitCode: 2)
        }
        return text
    }
}
