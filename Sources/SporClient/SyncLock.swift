#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The lock that keeps a second sync engine off a workspace: an exclusive
/// `flock(2)` on `sync.lock` in the workspace directory, held while the engine
/// runs. The kernel releases it when the process ends, however it ends, so a
/// killed `spor sync` never leaves a stale lock behind.
///
/// Editing does not take this lock: edits and the engine's merges are serialised
/// by SQLite transactions (see ``Workspace``).
public final class SyncLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock or throws `syncRunning` at once if another process holds it.
    public init(workspace: Workspace) throws(WorkspaceError) {
        let path = (workspace.directory as NSString).appendingPathComponent("sync.lock")
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw WorkspaceError(.cannotWrite, "cannot open \(path): \(String(cString: strerror(errno)))", danish: "kan ikke åbne \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw WorkspaceError(.syncRunning, "another spor sync is already running on this workspace (\(workspace.directory))",
                                 hint: "It keeps the workspace in sync; stop it first if you want to run this one.", danish: "en anden spor sync kører allerede på dette arbejdsområde (\(workspace.directory))", danishHint: "Den holder arbejdsområdet synkroniseret; stop den først, hvis du vil køre denne.")
        }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
