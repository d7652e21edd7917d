import Foundation
import SporCRDT

/// Comments: sparring from partners, DGOs and the secretariat, anchored to a range of
/// a section's text. Every member and the secretariat may comment, reply and
/// resolve; only the organisation that wrote a comment or reply changes or deletes it
/// (``ProposalPolicy``, enforced by the server).
extension Proposal {
    /// Comments on characters `range` (scalar positions) of `section` and returns the
    /// comment's id. The range follows the text as it is edited around it.
    @discardableResult
    public mutating func addComment(on section: Section, range: Range<Int>, text: String, at now: Date) throws(ProposalError) -> ListItemID {
        let field = ProposalSchema.Key.comments
        let text = try Self.checkText(text, field: "\(field).\(Key.text)", limit: 10_000)
        guard !text.trimmingWhitespace().isEmpty else {
            throw ProposalError(.invalidValue, field: "\(field).\(Key.text)", "a comment needs a text", danish: "en kommentar skal have en tekst")
        }
        let sectionText = ProposalSchema.text(of: section)
        let length = document.textLength(sectionText)
        guard range.lowerBound >= 0, range.upperBound <= length else {
            throw ProposalError(.invalidValue, field: "\(field).range",
                                "\(range.lowerBound)..<\(range.upperBound) is outside \(section.key), which has \(length) characters", danish: "\(range.lowerBound)..<\(range.upperBound) ligger uden for \(section.danishKey), som har \(length) tegn")
        }
        let anchors = try documentStep(field: field) { () throws(CRDTError) in
            try document.anchors(in: sectionText, at: [range.lowerBound, range.upperBound])
        }
        let quote = String(String.UnicodeScalarView(document.text(sectionText).unicodeScalars
            .dropFirst(range.lowerBound).prefix(range.count)))
        return try change { proposal throws(ProposalError) in
            try proposal.ensureChild(.list, forKey: field, in: ProposalSchema.proposal)
            let (item, map) = try proposal.appendMapItem(to: ProposalSchema.comments, field: field)
            let itemField = "\(field)[\(item)]"
            try proposal.write(.string(section.key), forKey: Key.section, in: map, field: "\(itemField).\(Key.section)")
            try proposal.write(.string(AnchorCoding.encode(anchors[0])), forKey: Key.start, in: map, field: "\(itemField).\(Key.start)")
            try proposal.write(.string(AnchorCoding.encode(anchors[1])), forKey: Key.end, in: map, field: "\(itemField).\(Key.end)")
            try proposal.write(.string(quote), forKey: Key.quote, in: map, field: "\(itemField).\(Key.quote)")
            try proposal.writeAuthorship(to: map, field: itemField, at: now)
            try proposal.write(.string(text), forKey: Key.text, in: map, field: "\(itemField).\(Key.text)")
            try proposal.write(.bool(false), forKey: Key.resolved, in: map, field: "\(itemField).\(Key.resolved)")
            return item
        }
    }

    /// Replies to comment `id`.
    @discardableResult
    public mutating func reply(to id: ListItemID, text: String, at now: Date) throws(ProposalError) -> ListItemID {
        let field = "\(Key.comments)[\(id)].\(Key.replies)"
        let text = try Self.checkText(text, field: "\(field).\(Key.text)", limit: 10_000)
        guard !text.trimmingWhitespace().isEmpty else {
            throw ProposalError(.invalidValue, field: "\(field).\(Key.text)", "a reply needs a text", danish: "et svar skal have en tekst")
        }
        let comment = try commentMap(id)
        return try change { proposal throws(ProposalError) in
            try proposal.ensureChild(.list, forKey: Key.replies, in: comment)
            let replies = try documentStep(field: field) { () throws(CRDTError) in try comment.child(Key.replies, .list) }
            let (item, map) = try proposal.appendMapItem(to: replies, field: field)
            try proposal.writeAuthorship(to: map, field: "\(field)[\(item)]", at: now)
            try proposal.write(.string(text), forKey: Key.text, in: map, field: "\(field)[\(item)].\(Key.text)")
            return item
        }
    }

    /// Marks comment `id` resolved (or open again).
    public mutating func setResolved(_ id: ListItemID, _ resolved: Bool) throws(ProposalError) {
        let map = try commentMap(id)
        try change { proposal throws(ProposalError) in
            try proposal.write(.bool(resolved), forKey: Key.resolved, in: map, field: "\(Key.comments)[\(id)].\(Key.resolved)")
        }
    }

    /// Where comment `comment`'s range is now in its section (scalar positions).
    public func currentRange(of comment: Comment) throws(ProposalError) -> Range<Int>? {
        guard let section = comment.section else { return nil }
        let positions = try documentStep(field: "\(Key.comments)[\(comment.id)]") { () throws(CRDTError) in
            try document.positions(of: [comment.start, comment.end], in: ProposalSchema.text(of: section))
        }
        return positions[0]..<max(positions[0], positions[1])
    }

    private func commentMap(_ id: ListItemID) throws(ProposalError) -> ContainerID {
        let list = ProposalSchema.comments
        guard document.list(list).contains(where: { $0.id == id && $0.value == .child(.map) }) else {
            throw ProposalError(.unknownItem, field: "\(Key.comments)[\(id)]", "there is no comment \(id)", danish: "der er ingen kommentar \(id)")
        }
        return try documentStep { () throws(CRDTError) in try list.child(id, .map) }
    }

    /// Only the time is written: who wrote a comment is the organisation of the
    /// event that created its item (``ProposalSchema/organisation(of:)``), which
    /// nobody can rewrite.
    private mutating func writeAuthorship(to map: ContainerID, field: String, at now: Date) throws(ProposalError) {
        try write(.int(Int64(now.timeIntervalSince1970.rounded(.down))), forKey: Key.createdAt, in: map, field: "\(field).\(Key.createdAt)")
    }
}
