import SporCRDT

extension ProposalSchema {
    /// The ``ProposalPolicy`` action a write of a change batch is, for a writer of
    /// organisation `writer` (its server id).
    ///
    /// - Anything in or beneath a ``serverOnly`` container: `writeProcessRecords`.
    /// - The comments list and everything beneath a comment: adding a comment or a
    ///   reply, writing `resolved`, creating the comments or a replies list is `comment`; every
    ///   other write beneath a comment or reply (its text, its anchors, removing or
    ///   moving it) is `editOwnComment` when the comment's (or reply's) item was
    ///   inserted by an agent of `writer`, else `editOthersComment`.
    /// - A save's time: `recordSave` when its key is an event of the writing agent
    ///   ("agent@seq", the save's first event), else `writeOthersSaveTime`; removing
    ///   one is `writeOthersSaveTime` too (a save's time, once written, stays).
    /// - A version's name: `nameVersion`.
    /// - Everything else (sections, fields, participants, budget, milestones, extra
    ///   sections, the legacy agents map, roots the schema does not name):
    ///   `editContent`.
    public static func action(of write: ChangeSummary.Write, writer: String) -> ProposalPolicy.Action {
        if isServerOnly(write.container) { return .writeProcessRecords }
        if write.container == saves {
            guard write.kind == .mapSet, let key = write.key, let at = key.lastIndex(of: "@"),
                  key[..<at] == write.author.name, Int(key[key.index(after: at)...]) != nil else { return .writeOthersSaveTime }
            return .recordSave
        }
        if isWithin(write.container, [saves]) { return .writeOthersSaveTime }
        if isWithin(write.container, [versionNames]) { return .nameVersion }
        if write.container == proposal, write.key == Key.comments {
            // Creating the comments list is part of the first comment; removing it
            // would delete every organisation's comments.
            return write.kind == .mapSet ? .comment : .editOthersComment
        }
        guard isWithin(write.container, [comments]) else { return .editContent }
        func byAuthor(_ item: EventID) -> ProposalPolicy.Action {
            organisation(of: item.agent) == writer ? .editOwnComment : .editOthersComment
        }
        if write.container == comments {
            switch write.kind {
            case .listInsert: return .comment
            default: return write.item.map(byAuthor) ?? .editOthersComment
            }
        }
        // Beneath one comment: comments/<item>/… and maybe replies/<reply>/…
        var commentItem: EventID?
        var replyItem: EventID?
        var current: ContainerID? = write.container
        while let container = current, container != comments {
            if let item = container.listItem, let parent = container.parent {
                if parent == comments { commentItem = item } else if parent.key == Key.replies { replyItem = item }
            }
            current = container.parent
        }
        guard let commentItem else { return .editOthersComment }
        if let replyItem { return byAuthor(replyItem) }
        let isCommentMap = write.container.parent == comments
        let isRepliesList = write.container.key == Key.replies && write.container.parent?.parent == comments
        if isRepliesList {
            return write.kind == .listInsert ? .comment : (write.item.map(byAuthor) ?? .editOthersComment)
        }
        if isCommentMap, write.key == Key.resolved || (write.key == Key.replies && write.kind == .mapSet) { return .comment }
        return byAuthor(commentItem)
    }

    /// Why `writer`, with `standing` on the proposal, may not make the writes of
    /// `changes` that satisfy `isNew` (the events the server does not have yet): the
    /// first refusal in batch order, nil if every such write is allowed. Events the
    /// server already stores are passed on unchecked: they were checked when they
    /// arrived, and a client may send them again as duplicates.
    public static func writeRefusal(in changes: ChangeSummary, writer: String, standing: ProposalPolicy.Standing,
                                    isNew: (ChangeSummary.Write) -> Bool) -> ProposalPolicy.Refusal? {
        var checked: Set<ProposalPolicy.Action> = []
        for write in changes.writes where isNew(write) {
            let action = action(of: write, writer: writer)
            guard checked.insert(action).inserted else { continue }
            if let refusal = ProposalPolicy.refusal(of: action, by: standing) {
                return ProposalPolicy.Refusal(code: refusal.code, message: "\(write.container): \(refusal.message)")
            }
        }
        return nil
    }
}
