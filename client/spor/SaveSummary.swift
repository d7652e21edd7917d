import Foundation
import SporCRDT
import SporProposal

/// What one save changed, in a few words a coordinator reads at a glance:
/// `udfordring +2 sætninger; ansøgt beløb → 1.800.000 kr.; + deltager Odense Kommune`.
struct SaveSummary {
    let language: Language

    func describe(from before: ProposalContent, to after: ProposalContent) -> String {
        let say = language.text
        var parts: [String] = []
        if before.title != after.title { parts.append(say("titel → »\(Self.cut(after.title))«", "title → \"\(Self.cut(after.title))\"")) }
        for section in Section.allCases where section != .title && before.text(section) != after.text(section) {
            parts.append(language.key(of: section) + " " + textChange(before.text(section), after.text(section)))
        }
        if before.amountRequested != after.amountRequested {
            parts.append(say("ansøgt beløb", "amount requested") + " → " + language.kroner(after.amountRequested))
        }
        if before.roundID != after.roundID { parts.append(say("runde", "round") + " → " + (after.roundID ?? "–")) }
        items(before.participants, after.participants, id: \.id, name: say("deltager", "participant"), into: &parts) {
            $0.organisation?.name ?? "?"
        }
        items(before.budget, after.budget, id: \.id, name: say("budgetlinje", "budget line"), into: &parts) { line in
            "\(line.item.isEmpty ? "–" : line.item) (\(language.kroner(line.amount)))"
        }
        items(before.milestones, after.milestones, id: \.id, name: say("milepæl", "milestone"), into: &parts) { $0.title }
        items(before.extraSections, after.extraSections, id: \.id, name: say("ekstra afsnit", "extra section"), into: &parts) {
            say("»\(Self.cut($0.heading))«", "\"\(Self.cut($0.heading))\"")
        }
        let oldComments = Dictionary(before.comments.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for comment in after.comments {
            guard let old = oldComments[comment.id] else {
                parts.append(say("+ kommentar", "+ comment") + (comment.section.map { " (\(language.key(of: $0)))" } ?? ""))
                continue
            }
            if comment.replies.count > old.replies.count { parts.append(say("+ svar på en kommentar", "+ reply to a comment")) }
            if comment.resolved != old.resolved {
                parts.append(comment.resolved ? say("kommentar løst", "comment resolved") : say("kommentar genåbnet", "comment reopened"))
            }
        }
        let oldMembers = Dictionary(before.members.map { ($0.organisation, $0.role) }, uniquingKeysWith: { first, _ in first })
        for member in after.members where oldMembers[member.organisation] != member.role {
            let role = language == .danish ? member.role.danishName : member.role.englishName
            parts.append(say("medlem ", "member ") + displayName(member.organisation) + " → " + role.lowercased())
        }
        for submission in after.submissions.dropFirst(before.submissions.count) {
            parts.append(say("afleveret: ", "submitted: ") + language.name(of: submission.step))
        }
        if after.withdrawal != nil, before.withdrawal == nil { parts.append(say("trukket tilbage", "withdrawn")) }
        if after.qualificationHistory.count > before.qualificationHistory.count, let result = after.qualification?.result {
            parts.append(say("kvalificering: ", "qualification: ") + (language == .danish ? result.danishName : result.englishName))
        }
        if after.decisionHistory.count > before.decisionHistory.count, let decision = after.decision {
            parts.append(say("afgørelse: ", "decision: ")
                         + (language == .danish ? decision.outcome.danishName : decision.outcome.englishName).lowercased())
        }
        for name in Set(after.versionNames).subtracting(before.versionNames).sorted() {
            parts.append(say("navngivet »\(name)«", "named \"\(name)\""))
        }
        for name in Set(before.versionNames).subtracting(after.versionNames).sorted() {
            parts.append(say("navnet »\(name)« fjernet", "name \"\(name)\" removed"))
        }
                return parts.isEmpty ? say("(ingen synlig ændring)", "(no visible change)") : parts.joined(separator: "; ")
    }

    /// "+2 sætninger", "−1 sætning", "ændret", "skrevet", "tømt".
    private func textChange(_ before: String, _ after: String) -> String {
        let say = language.text
        if before.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return say("skrevet", "written") }
        if after.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return say("tømt", "emptied") }
        let delta = Self.sentences(after) - Self.sentences(before)
        switch delta {
        case 0: return say("ændret", "changed")
        case 1: return say("+1 sætning", "+1 sentence")
        case -1: return say("−1 sætning", "−1 sentence")
        default: return delta > 0 ? say("+\(delta) sætninger", "+\(delta) sentences") : say("−\(-delta) sætninger", "−\(-delta) sentences")
        }
    }

    /// Sentences: a `.`, `!` or `?` that ends a line or is followed by a capital
    /// letter ends one, unless a digit precedes it (Danish ordinals: "5. minut",
    /// "1. dec"); the rest of a line with words in it (a list item, a heading) is one.
    static func sentences(_ text: String) -> Int {
        var count = 0
        for line in text.split(whereSeparator: \.isNewline) {
            let characters = Array(line)
            var hasWords = false
            for (index, character) in characters.enumerated() {
                if character.isLetter || character.isNumber { hasWords = true }
                guard ".!?".contains(character), hasWords, !(index > 0 && characters[index - 1].isNumber) else { continue }
                let next = characters[(index + 1)...].first { !$0.isWhitespace }
                if next == nil || (next?.isUppercase == true && index + 1 < characters.count && characters[index + 1].isWhitespace) {
                    count += 1
                    hasWords = false
                }
            }
            if hasWords { count += 1 }
        }
        return count
    }

    private func items<T>(_ old: [T], _ new: [T], id: (T) -> ListItemID, name: String, into parts: inout [String],
                          describe: (T) -> String) {
        let oldByID = Dictionary(old.map { (id($0), $0) }, uniquingKeysWith: { first, _ in first })
        let newIDs = Set(new.map(id))
        for item in new {
            guard let previous = oldByID[id(item)] else {
                parts.append("+ \(name) \(describe(item))")
                continue
            }
            if describe(previous) != describe(item) || "\(previous)" != "\(item)" {
                parts.append("\(name) \(describe(item)) " + language.text("ændret", "changed"))
            }
        }
        for item in old where !newIDs.contains(id(item)) { parts.append("− \(name) \(describe(item))") }
    }

    private static func cut(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.count > 40 ? String(line.prefix(39)) + "…" : line
    }
}
