import Foundation
import SporCRDT
import SporProposal

// `spor show --json` as it was made until December 2026 — the proposal's content built
// as `[String: Any]` and printed by a hand-written writer — kept only as the baseline
// `spor-bench json` measures today's typed `ProposalJSON` and `SporJSON` against, and
// checks byte for byte. Not used by spor.

/// An instant as ISO 8601 in UTC, or NSNull (the old `Output.iso`).
func legacyISO(_ date: Date?) -> Any {
    guard let date else { return NSNull() }
    var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
}

/// The old `ContentJSON`: a proposal's content as `[String: Any]`.
enum LegacyContentJSON {
    static func proposal(id: String, _ content: ProposalContent, status: ProcessStatus?) -> [String: Any] {
        var sections: [String: Any] = [:]
        for section in Section.allCases { sections[section.key] = content.text(section) }
        return [
            "id": id,
            "title": content.title,
            "round": content.roundID ?? NSNull(),
            "status": status?.rawValue ?? NSNull(),
            "amountRequested": content.amountRequested ?? NSNull(),
            "sections": sections,
            "members": content.members.map { ["organisation": $0.organisation, "role": $0.role.rawValue] },
            "lead": content.lead ?? NSNull(),
            "participants": content.participants.enumerated().map { participant($0.offset + 1, $0.element) },
            "budget": content.budget.enumerated().map { budgetLine($0.offset + 1, $0.element) },
            "milestones": content.milestones.map { ["title": $0.title, "date": $0.date?.description ?? NSNull()] as [String: Any] },
            "extraSections": content.extraSections.map { ["heading": $0.heading, "body": $0.body] },
            "comments": content.comments.enumerated().map { comment($0.offset + 1, $0.element) },
            "submissions": content.submissions.map(submission),
            "qualification": content.qualification.map { ["result": $0.result.rawValue, "note": $0.note, "at": legacyISO($0.at)] as [String: Any] } ?? NSNull(),
            "decision": content.decision.map { ["outcome": $0.outcome.rawValue, "note": $0.note, "grantedAmount": $0.grantedAmount ?? NSNull(),
                                                "at": legacyISO($0.at)] as [String: Any] } ?? NSNull(),
            "qualifications": content.qualificationHistory.map { ["result": $0.result.rawValue, "note": $0.note, "at": legacyISO($0.at)] as [String: Any] },
            "decisions": content.decisionHistory.map { ["outcome": $0.outcome.rawValue, "note": $0.note, "grantedAmount": $0.grantedAmount ?? NSNull(),
                                                       "at": legacyISO($0.at)] as [String: Any] },
            "withdrawal": content.withdrawal.map { ["at": legacyISO($0.at), "by": $0.by] as [String: Any] } ?? NSNull(),
            "conflicts": content.conflicts.map(conflict),
            "unreadable": content.unreadable.map { ["field": $0.field, "stored": $0.stored, "expected": $0.expected] },
            "version": content.version.heads.map(\.description),
            "contentHash": content.contentHash,
        ]
    }

    static func participant(_ number: Int, _ participant: Participant) -> [String: Any] {
        var organisation: Any = NSNull()
        if let value = participant.organisation {
            switch value {
            case let .registered(registered):
                organisation = ["name": registered.officialName, "code": registered.code, "kind": value.englishKind] as [String: Any]
            case let .other(name, _):
                organisation = ["name": name, "kind": value.englishKind] as [String: Any]
            }
        }
        return [
            "number": number, "id": participant.id.description, "organisation": organisation,
            "role": participant.role?.rawValue ?? NSNull(), "contactName": participant.contactName,
            "contactEmail": participant.contactEmail, "cofinancingCash": participant.cofinancingCash,
            "cofinancingHours": participant.cofinancingHours,
        ]
    }

    static func budgetLine(_ number: Int, _ line: BudgetLine) -> [String: Any] {
        ["number": number, "id": line.id.description, "item": line.item, "amount": line.amount ?? NSNull(),
         "source": line.source?.rawValue ?? NSNull(), "year": line.year ?? NSNull()]
    }

    static func comment(_ number: Int, _ comment: Comment) -> [String: Any] {
        [
            "number": number, "id": comment.id.description, "section": comment.section?.key ?? NSNull(),
            "quote": comment.quote, "author": comment.author, "text": comment.text, "resolved": comment.resolved,
            "createdAt": legacyISO(comment.createdAt),
            "replies": comment.replies.map { ["author": $0.author, "text": $0.text, "createdAt": legacyISO($0.createdAt)] as [String: Any] },
        ]
    }

    static func submission(_ submission: Submission) -> [String: Any] {
        ["step": submission.step.rawValue, "round": submission.roundID, "version": submission.version.heads.map(\.description),
         "contentHash": submission.contentHash, "submittedAt": legacyISO(submission.submittedAt), "by": submission.by]
    }

    static func conflict(_ conflict: FieldConflict) -> [String: Any] {
        ["field": conflict.field,
         "candidates": conflict.candidates.enumerated().map { ["number": $0.offset + 1, "value": $0.element.value, "author": $0.element.author.name] as [String: Any] }]
    }
}

/// The hand-written pretty-printer `spor --json` used until December 2026: sorted keys,
/// `" : "` between key and value, `[]` and `{}` for empty containers.
struct LegacyJSONWriter {
    var output: [UInt8] = []

    mutating func write(_ value: Any, indent: Int) {
        switch value {
        case let string as String: writeString(string)
        case let flag as Bool: append(flag ? "true" : "false")
        case let number as Int: append(String(number))
        case let number as Int64: append(String(number))
        case let number as Double: append(number.isFinite ? String(number) : "null")
        case let dictionary as [String: Any]:
            guard !dictionary.isEmpty else { return append("{}") }
            append("{\n")
            for (index, key) in dictionary.keys.sorted().enumerated() {
                pad(indent + 2)
                writeString(key)
                append(" : ")
                write(dictionary[key] ?? NSNull(), indent: indent + 2)
                append(index == dictionary.count - 1 ? "\n" : ",\n")
            }
            pad(indent)
            append("}")
        case let dictionary as [String: Int]:
            write(dictionary.mapValues { $0 as Any }, indent: indent)
        case let array as [Any]:
            guard !array.isEmpty else { return append("[]") }
            append("[\n")
            for (index, element) in array.enumerated() {
                pad(indent + 2)
                write(element, indent: indent + 2)
                append(index == array.count - 1 ? "\n" : ",\n")
            }
            pad(indent)
            append("]")
        default:
            append("null")
        }
    }

    private mutating func append(_ text: String) { output.append(contentsOf: text.utf8) }

    private mutating func pad(_ count: Int) { output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: count)) }

    private mutating func writeString(_ string: String) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
