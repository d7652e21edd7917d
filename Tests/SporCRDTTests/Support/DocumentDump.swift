@testable import SporCRDT

/// A canonical description of everything a document shows — every container's state
/// including conflicting writes and their authors — so that replicas can be compared
/// exactly.
func dump(_ document: Document) -> String {
    var lines: [String] = []
    for id in document.containerIDs {
        switch id.kind {
        case .text:
            lines.append("\(id) = \(String(reflecting: document.text(id)))")
        case .register:
            lines.append("\(id) = \(describe(document.register(id)))")
        case .map:
            let entries = document.map(id).map { "\($0.key): \(describe($0.value))" }
            lines.append("\(id) = {\(entries.joined(separator: ", "))}")
        case .list:
            let items = document.list(id).map { "\($0.id)=\($0.value)" }
            lines.append("\(id) = [\(items.joined(separator: ", "))]")
        case .set:
            lines.append("\(id) = {\(document.set(id).map(\.description).joined(separator: ", "))}")
        }
    }
    return lines.joined(separator: "\n")
}

func describe(_ value: RegisterValue) -> String {
    value.writes.map { "\($0.value) by \($0.author)" }.joined(separator: " | ")
}
