/// Catching up a replica that has nothing from a document file instead of a change
/// batch: the file stores every event *and* the texts they merge to, so a receiver
/// that trusts its sender opens it — O(texts), the history decoded only when a later
/// merge needs it — instead of replaying every concurrent branch of the history.
///
/// Why: on long-branched or constantly concurrent histories the one replay a fresh
/// replica makes of the whole history is the costliest merge there is (Eg-walker
/// retreats and advances each branch many times; ten times what Yrs needs on a
/// history of 16 branches pulling each other). Yrs avoids it by shipping its already
/// integrated item list; the file ships the result of the integration, the texts.
/// The event graph stays the source of truth: every later merge replays from it, as
/// for any opened file. A receiver that does not trust its sender does not take the
/// texts: it merges the file's events like a batch and checks that they give the
/// stored texts.
extension Document {
    /// Whether `bytes` claim to be a document file (``encoded()``) rather than a change
    /// batch (the envelope's kind byte; nothing else is checked).
    static func isDocumentFile(_ bytes: [UInt8]) -> Bool {
        bytes.count > EncodedFile.magic.count && bytes.starts(with: EncodedFile.magic)
            && bytes[EncodedFile.magic.count] == EncodedFile.Kind.document.rawValue
    }

    /// Merges the events of document file `bytes` (see the type's notes): into an empty
    /// document with `trustingTexts`, opens it as it is; otherwise merges its events
    /// as one batch — into an empty document then checking that they give the file's
    /// texts and states, throwing ``CRDTError/Code-swift.struct/malformed`` and
    /// changing nothing if not. Into a document with events, the file's texts are
    /// not used at all.
    mutating func merge(documentFile bytes: [UInt8], placementBudget: Int?, trustingTexts: Bool) throws(CRDTError) -> Int {
        try materializeHistory()
        let wasEmpty = log.eventCount == 0
        if wasEmpty, trustingTexts {
            self = try Document(decoding: bytes, agent: agent)
            return eventCount
        }
        let file = try Document(decoding: bytes)
        let fileLog = try file.historyLog()
        let batch = EventBatch(log: fileLog, ranges: fileLog.eventCount > 0 ? [LVRange(0, fileLog.eventCount)] : [])
        let saved = self
        let added = try merge([batch], placementBudget: placementBudget)
        if wasEmpty, let id = firstContainer(differingFrom: file) {
            self = saved
            throw CRDTError(.malformed, "the file's \(id) is not what its events merge to", context: "document file")
        }
        return added
    }
}
