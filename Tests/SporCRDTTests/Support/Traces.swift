import Foundation
import SporTraces

/// Where the editing traces are: the small ones bundled with the tests, the large
/// ones in `../shared/traces` next to the repository when it is there.
enum Traces {
    /// Traces copied into `Tests/SporCRDTTests/Resources/Traces` (see ATTRIBUTION.md).
    static let bundled = ["sveltecomponent", "friendsforever", "node-nodecc"]
    /// Traces only read from `../shared/traces`.
    static let shared = ["automerge-paper", "seph-blog1"]

    static var sharedDirectory: String {
        // Tests/SporCRDTTests/Support/Traces.swift -> repository root -> ../shared/traces
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return repository.deletingLastPathComponent().appendingPathComponent("shared/traces").path
    }

    static var sharedAvailable: Bool {
        FileManager.default.fileExists(atPath: sharedDirectory + "/sequential/automerge-paper.json.gz")
    }

    static func path(_ name: String) -> String? {
        if bundled.contains(name) {
            return Bundle.module.path(forResource: name, ofType: "json.gz", inDirectory: "Resources/Traces")
        }
        for kind in ["sequential", "concurrent"] {
            let path = "\(sharedDirectory)/\(kind)/\(name).json.gz"
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return nil
    }

    static func load(_ name: String) throws -> EditingTrace {
        guard let path = path(name) else { throw EditingTrace.FormatError(description: "trace \(name) not found") }
        return try EditingTrace(contentsOf: path)
    }
}
