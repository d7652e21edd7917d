import SporCRDT

/// The merged documents the push committer checks pushed batches against, for the
/// documents pushed to most recently.
///
/// Why the server merges: a batch can be well-formed (``ChangeSummary`` reads it) and
/// still not apply — a text edit at a position its parent version does not have, a
/// list operation naming an item its author could not have seen. Only a merge knows.
/// Stored and relayed, such a batch would make the proposal unsyncable for every
/// member (each client's merge refuses it), so the server stores only batches that
/// merge into its own replica.
///
/// Entries are taken out while the committer works on them (so the merge mutates a
/// uniquely held document in place, never a copy) and put back after the commit;
/// after a failed commit they are not put back and are rebuilt from storage on next
/// use. At most `capacity` documents are kept; the least recently used go first.
/// Each is a ``WindowedReplica`` trimmed to a window of recent history, so memory is
/// bounded by `capacity` × the window, not by the documents' history.
struct ReplicaCache: Sendable {
    private struct Entry: Sendable {
        var document: WindowedReplica
        var lastUse: UInt64
    }

    private var entries: [String: Entry] = [:]
    private var uses: UInt64 = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    /// The replica of `document`, if kept, without counting a use (tests).
    func peek(_ document: String) -> WindowedReplica? { entries[document]?.document }

    /// Removes and returns the replica of `document`, if kept.
    mutating func take(_ document: String) -> WindowedReplica? {
        entries.removeValue(forKey: document)?.document
    }

    /// Keeps `replica` as `document`'s, evicting the least recently used beyond capacity.
    mutating func put(_ document: String, _ replica: WindowedReplica) {
        uses += 1
        entries[document] = Entry(document: replica, lastUse: uses)
        while entries.count > capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            entries.removeValue(forKey: oldest)
        }
    }
}
