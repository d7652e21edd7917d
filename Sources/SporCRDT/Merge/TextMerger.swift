import HeapModule

/// Replays part of a text's history with the Eg-walker algorithm (Gentle & Kleppmann,
/// "Collaborative Text Editing with Eg-walker", EuroSys 2025) and turns the events
/// the text does not show yet into ``TextPatch``es against its current content.
///
/// Each step of the ``MergePlan`` is applied on the version its events were made on
/// (the *prepare* version), reached by retreating and advancing events in the
/// transient ``MergeState``; the effect on the merged document is read from the
/// items' *end* state. Where the plan's cuts are critical the CRDT state is dropped
/// and operations apply unchanged, so linear history costs no CRDT work at all.
///
/// Concurrent insertions at the same place are ordered with YjsMod semantics (the
/// FugueMax order, Weidner & Kleppmann 2023): runs typed concurrently never
/// interleave, and ties between siblings go to the smaller agent name, then the
/// smaller sequence number.
///
/// Positions of events not yet in the text are validated against the document at
/// their parent version; a bad one ends the replay with
/// ``CRDTError/Code-swift.struct/positionOutOfBounds`` before anything is changed.
struct TextMerger {
    /// Plans a replay from version `current` to `target` (see ``MergePlan``), reusing
    /// this merger's scratch space.
    mutating func plan(_ graph: CausalGraph, from current: [LV], to target: [LV]) -> MergePlan {
        MergePlan(graph: graph, from: current, to: target, walker: &walker)
    }

    private var state = MergeState()
    private var operationScratch: [TextOperation] = []
    /// The history index of each run in `operationScratch`.
    private var operationIndexScratch: [Int] = []
    /// The first history operation of each step of the plan being replayed.
    private var stepFirstOperation: [Int32] = []
    private var stepQueue = Heap<StepItem>()
    private var retreatSteps: [Int32] = []
    private var advanceSteps: [Int32] = []
    private var targetScratch: [(id: LV, count: Int)] = []
    private(set) var walker = GraphWalker()
    /// The length of the text after the patches produced so far.
    private var outputLength = 0
    /// Concurrent runs this merger may still scan past to place insertions (see
    /// ``Document/merge(encodedChanges:placementBudget:)``); below zero, the replay
    /// ends with ``CRDTError/Code-swift.struct/limitExceeded``.
    var placementLeft = Int.max
    /// The prepare version when the last replay ended (the end of its last step).
    private var lastPrepare: [LV] = []

    /// What the CRDT state holds after a replay, so that the next merge of the same
    /// text can go on from it (``continueReplay(graph:firstNew:agents:history:textLength:into:)``)
    /// instead of replaying the zone again.
    ///
    /// Invariant: the state holds the items and deletes of every event in
    /// `coveredStart..<eventsEnd` that touches this text, and its placeholder stands
    /// for the document at the version of all events before `coveredStart` — each of
    /// which is an ancestor of every covered event (the replay's last zone began at a
    /// critical cut or at the common version, and LVs are a topological order). So a
    /// new event can be applied on the state exactly when moving the prepare version
    /// to its parents retreats and advances covered events only.
    struct Continuation {
        var coveredStart: LV
        var eventsEnd: LV
        /// The version the items' prepare state shows.
        var prepare: [LV]
        /// How many placeholder items lie beyond the real document (the placeholder
        /// may stand for more than the document held at the zone's start).
        var phantom: Int
        /// Covered events right after the last full replay: continuing stops once the
        /// state has grown well past it (``canContinue(firstNew:eventCount:)``).
        var coveredAfterReplay: Int
    }

    /// Set by a replay whose last step left a usable state, and kept up to date by
    /// ``continueReplay(graph:firstNew:agents:history:textLength:into:)``; nil otherwise.
    private(set) var continuation: Continuation?

    /// Replays `plan` for the text whose history is `history` and whose current
    /// content has `textLength` scalars, appending the patches that bring the content
    /// to the plan's target version.
    mutating func replay(
        _ plan: MergePlan, agents: AgentAssignment, history: TextHistory,
        textLength: Int, into patches: inout [TextPatch], keepingAllItems: Bool = false
    ) throws(CRDTError) {
        let context = ReplayContext(agents: agents)
        findFirstOperations(of: plan, in: history)
        var active = false
        // The step whose end is the prepare version; -1: the start of the zone.
        var prepare: Int32 = -1
        // The position of the critical cut the current zone started after: steps up to
        // it are ancestors of everything in the zone (the placeholder stands for them).
        var zoneBase = -1
        outputLength = textLength
        // Placeholder items beyond the real document; nil while unknown.
        var phantom: Int? = nil
        continuation = nil
        var lastStepSkippedState = false

        for k in plan.order.indices {
            let stepIndex = plan.order[k]
            let step = plan.steps[Int(stepIndex)]
            loadOperations(ofStep: stepIndex, plan: plan, history: history)
            if !keepingAllItems, plan.isCriticalBefore(k), plan.criticalAfter[k] {
                // Concurrent with nothing: apply unchanged (or skip if already shown).
                if !step.isInText {
                    for operation in operationScratch {
                        try validate(operation, length: outputLength, context: context)
                        emit(operation.kind == .insert
                             ? .insert(position: operation.position, contentStart: operation.contentStart,
                                       byteCount: operation.contentByteCount, scalars: operation.count)
                             : .delete(position: operation.position, count: operation.count), into: &patches)
                    }
                }
                prepare = stepIndex
                lastStepSkippedState = true
                continue
            }
            lastStepSkippedState = false
            if !active {
                if step.isInText {
                    state.reset(placeholderLength: MergeState.unknownLength)
                    phantom = nil
                } else {
                    state.reset(placeholderLength: outputLength)
                    phantom = 0
                }
                // The zone starts at the critical cut before this step. Everything before
                // the cut is an ancestor of everything in the zone — the placeholder
                // stands for it — so it is never retreated or advanced (`zoneBase`).
                prepare = k > 0 ? plan.order[k - 1] : -1
                zoneBase = k - 1
                active = true
            }
            if !step.isInText, phantom == nil {
                // Everything the text shows has been replayed: the effect version is
                // now the text, which tells how long the placeholder really is.
                phantom = state.items.total.end - outputLength
            }
            let parentSteps = plan.parentSteps(of: step)
            let followsPrepare = parentSteps.count == 1 ? parentSteps.first == prepare : (parentSteps.isEmpty && prepare < 0)
            if !followsPrepare {
                move(from: prepare, toParentsOf: step, zoneBase: zoneBase, plan: plan, history: history)
                loadOperations(ofStep: stepIndex, plan: plan, history: history)
            }
            let output = !step.isInText
            for (operation, operationIndex) in zip(operationScratch, operationIndexScratch) {
                try checkAndApply(operation, index: operationIndex, phantom: phantom ?? 0, output: output,
                                  into: &patches, context: context)
            }
            prepare = stepIndex
            if plan.criticalAfter[k], !keepingAllItems { active = false }
        }
        lastPrepare = prepare >= 0 ? [plan.steps[Int(prepare)].range.end - 1] : []
        if !keepingAllItems, !lastStepSkippedState, let phantom, zoneBase + 1 < plan.order.count {
            // The last zone's state is live: it covers the zone's steps, whose events
            // all have larger LVs than anything before the zone.
            var coveredStart = LV.max, eventsEnd = 0
            for k in (zoneBase + 1)..<plan.order.count {
                let range = plan.steps[Int(plan.order[k])].range
                coveredStart = min(coveredStart, range.start)
                eventsEnd = max(eventsEnd, range.end)
            }
            continuation = Continuation(coveredStart: coveredStart, eventsEnd: eventsEnd, prepare: lastPrepare,
                                        phantom: phantom, coveredAfterReplay: eventsEnd - coveredStart)
        }
    }

    /// Whether ``continueReplay(graph:firstNew:agents:history:textLength:into:)`` should
    /// be tried for a merge that appended events `firstNew..<eventCount`: there is a
    /// state, the events it has not seen yet that are already in the text are no more
    /// than it covers (else a fresh replay of a small zone is cheaper), and it has not
    /// grown past twice its size after the last replay (plus some slack). A replay
    /// then starts afresh from the latest critical version, which bounds the state
    /// by twice the concurrent stretch of history and costs O(1) amortised per event.
    func canContinue(firstNew: LV, eventCount: LV) -> Bool {
        guard let continuation, continuation.eventsEnd <= firstNew else { return false }
        let covered = continuation.eventsEnd - continuation.coveredStart
        return firstNew - continuation.eventsEnd <= covered + 64
            && eventCount - continuation.coveredStart <= 2 * continuation.coveredAfterReplay + 4_096
    }

    /// Applies the events from ``Continuation/eventsEnd`` to `graph.count` on the state
    /// kept from the last replay, in LV order: those before `firstNew` are already in
    /// the text (only the state learns them), the others produce patches against the
    /// text's current content (`textLength` scalars). Each event is applied on its
    /// parent version, reached by retreating and advancing only the events between
    /// it and the prepare version: O((new events + events concurrent with them) ·
    /// log n), however long ago the last critical version was.
    ///
    /// Returns false — and leaves this merger with no continuation, its state
    /// unusable — when some event's parent version is not reachable that way (it is
    /// concurrent with history the placeholder stands for): replay a plan instead.
    /// Throws ``CRDTError/Code-swift.struct/positionOutOfBounds`` for an event whose
    /// position does not exist at its parent version, also leaving no continuation.
    mutating func continueReplay(
        graph: CausalGraph, firstNew: LV, agents: AgentAssignment, history: TextHistory,
        textLength: Int, into patches: inout [TextPatch]
    ) throws(CRDTError) -> Bool {
        guard var kept = continuation else { return false }
        continuation = nil
        let context = ReplayContext(agents: agents)
        outputLength = textLength
        let operations = history.operations
        var index = history.firstOperation(endingAfter: kept.eventsEnd)
        // An operation the state's tables do not reach (a run extended from before
        // the zone): the kept state cannot record its deletes.
        if index < operations.count, index < state.operationBase { return false }
        state.extendOperations(to: operations.count)
        while index < operations.count {
            let whole = operations[index]
            var start = max(whole.lvStart, kept.eventsEnd)
            while start < whole.lvEnd {
                let entryIndex = graph.entryIndex(containing: start)
                let entry = graph.entries[entryIndex]
                var end = min(whole.lvEnd, entry.end)
                if start < firstNew { end = min(end, firstNew) }
                let onPrepare = start == entry.start
                    ? graph.parents(ofEntry: entryIndex).elementsEqual(kept.prepare)
                    : kept.prepare.count == 1 && kept.prepare[0] == start - 1
                if !onPrepare {
                    let parents = start == entry.start ? Array(graph.parents(ofEntry: entryIndex)) : [start - 1]
                    guard movePrepare(from: kept.prepare, to: parents, coveredStart: kept.coveredStart,
                                      graph: graph, history: history) else { return false }
                }
                try checkAndApply(history.clip(whole, to: LVRange(start, end)), index: index, phantom: kept.phantom,
                                  output: start >= firstNew, into: &patches, context: context)
                kept.prepare = [end - 1]
                start = end
            }
            index += 1
        }
        kept.eventsEnd = graph.count
        continuation = kept
        return true
    }

    /// Moves the kept state's prepare version from `current` to `target` by retreating
    /// the events only `current` holds (newest first) and advancing those only
    /// `target` holds (oldest first); false, having changed nothing, if any of them is
    /// not covered by the state.
    private mutating func movePrepare(
        from current: [LV], to target: [LV], coveredStart: LV, graph: CausalGraph, history: TextHistory
    ) -> Bool {
        walker.diff(graph, current, target)
        // Ranges are descending, so the last of each list is the oldest.
        if let oldest = walker.onlyA.last, oldest.start < coveredStart { return false }
        if let oldest = walker.onlyB.last, oldest.start < coveredStart { return false }
        for range in walker.onlyA { changeOperations(in: range, history: history, by: -1) }
        for range in walker.onlyB.reversed() { changeOperations(in: range, history: history, by: 1) }
        return true
    }

    /// Retreats (-1, newest first) or advances (+1, oldest first) this text's
    /// operations among the events `range`.
    private mutating func changeOperations(in range: LVRange, history: TextHistory, by delta: Int32) {
        let first = history.firstOperation(endingAfter: range.start)
        var end = first
        while end < history.operations.count, history.operations[end].lvStart < range.end { end += 1 }
        if delta < 0 {
            for index in (first..<end).reversed() { change(history.clip(history.operations[index], to: range), index: index, by: -1) }
        } else {
            for index in first..<end { change(history.clip(history.operations[index], to: range), index: index, by: 1) }
        }
    }

    /// Applies the operations of the events `events`, which form one chain on top of
    /// the version the text shows (``CausalGraph/isChain(from:on:)``): each applies
    /// unchanged, after the ones before it. The same patches and the same validation
    /// as ``replay(_:agents:history:textLength:into:keepingAllItems:)`` of such a
    /// plan, whose every step is concurrent with nothing, without planning it:
    /// O(operations in `events`).
    mutating func replayChain(
        _ events: LVRange, agents: AgentAssignment, history: TextHistory, textLength: Int, into patches: inout [TextPatch]
    ) throws(CRDTError) {
        let context = ReplayContext(agents: agents)
        outputLength = textLength
        var index = history.firstOperation(endingAfter: events.start)
        while index < history.operations.count, history.operations[index].lvStart < events.end {
            let operation = history.clip(history.operations[index], to: events)
            try validate(operation, length: outputLength, context: context)
            emit(operation.kind == .insert
                 ? .insert(position: operation.position, contentStart: operation.contentStart,
                           byteCount: operation.contentByteCount, scalars: operation.count)
                 : .delete(position: operation.position, count: operation.count), into: &patches)
            index += 1
        }
    }

    /// The merge state after a replay with `keepingAllItems` (every item of the
    /// replayed history, in order).
    var finalState: MergeState { state }

    /// After a replay with `keepingAllItems`, moves the prepare version from where the
    /// replay left it (the end of its last step) to `version`, which must be part of
    /// the replayed history: the items' prepare state then shows `version` while their
    /// end state still shows everything replayed.
    mutating func movePrepareVersion(to version: [LV], graph: CausalGraph, history: TextHistory) {
        walker.diff(graph, lastPrepare, version)
        for range in walker.onlyA {
            let operations = indexedOperations(in: range, history: history)
            for (index, operation) in operations.reversed() { change(operation, index: index, by: -1) }
        }
        for range in walker.onlyB.reversed() {
            for (index, operation) in indexedOperations(in: range, history: history) { change(operation, index: index, by: 1) }
        }
        lastPrepare = version
    }

    private func indexedOperations(in range: LVRange, history: TextHistory) -> [(Int, TextOperation)] {
        var operations: [(Int, TextOperation)] = []
        var index = history.firstOperation(endingAfter: range.start)
        while index < history.operations.count, history.operations[index].lvStart < range.end {
            operations.append((index, history.clip(history.operations[index], to: range)))
            index += 1
        }
        return operations
    }

    /// The first history operation of each step (`stepFirstOperation`), found by one
    /// walk over the steps and the operations, both sorted by LV.
    private mutating func findFirstOperations(of plan: MergePlan, in history: TextHistory) {
        stepFirstOperation.removeAll(keepingCapacity: true)
        guard let first = plan.steps.first else { return }
        var index = history.firstOperation(endingAfter: first.range.start)
        let operations = history.operations
        state.prepareForOperations(index..<operations.count)
        for step in plan.steps {
            while index < operations.count, operations[index].lvEnd <= step.range.start { index += 1 }
            stepFirstOperation.append(Int32(index))
        }
    }

    /// Loads the operations of step `stepIndex`, clipped to it, into the scratch buffers.
    private mutating func loadOperations(ofStep stepIndex: Int32, plan: MergePlan, history: TextHistory) {
        operationScratch.removeAll(keepingCapacity: true)
        operationIndexScratch.removeAll(keepingCapacity: true)
        let range = plan.steps[Int(stepIndex)].range
        var index = Int(stepFirstOperation[Int(stepIndex)])
        let operations = history.operations
        while index < operations.count, operations[index].lvStart < range.end {
            operationScratch.append(history.clip(operations[index], to: range))
            operationIndexScratch.append(index)
            index += 1
        }
    }

    private mutating func emit(_ patch: TextPatch, into patches: inout [TextPatch]) {
        switch patch {
        case let .insert(_, _, _, scalars): outputLength += scalars
        case let .delete(_, count): outputLength -= count
        }
        patches.appendCoalescing(patch)
    }

    private func validate(_ operation: TextOperation, length: Int, context: ReplayContext) throws(CRDTError) {
        let end = operation.kind == .insert ? operation.position : operation.position + operation.count
        guard end <= length else {
            let event = context.agents.eventID(of: operation.lvStart)
            let what = operation.kind == .insert ? "inserts at \(operation.position)" : "deletes \(operation.position)..<\(end)"
            throw CRDTError(.positionOutOfBounds, "event \(event) \(what) in a text of \(length) characters at its parent version")
        }
    }

    // MARK: - Moving the prepare version

    /// Moves the prepare version from the end of step `prepare` (-1: the zone's start)
    /// to the parents of `step`: retreats the steps only the former contains (newest
    /// first) and advances those only the latter contains (oldest first). Walks the
    /// plan's step graph back from both sides until all that is left is shared, so
    /// the cost follows the size of the move, not of the zone. Steps at or before
    /// `zoneBase` (a position in the plan's order) are in both versions by definition
    /// of the critical cut the zone started at.
    private mutating func move(
        from prepare: Int32, toParentsOf step: MergePlan.Step, zoneBase: Int, plan: MergePlan, history: TextHistory
    ) {
        retreatSteps.removeAll(keepingCapacity: true)
        advanceSteps.removeAll(keepingCapacity: true)
        var unshared = 0
        func push(_ step: Int32, _ flag: ReachFlag) {
            stepQueue.insert(StepItem(step: step, flag: flag))
            if flag != .shared { unshared += 1 }
        }
        if prepare >= 0 { push(prepare, .a) }
        for parent in plan.parentSteps(of: step) { push(parent, .b) }
        while var item = stepQueue.popMax() {
            if item.flag != .shared { unshared -= 1 }
            while let next = stepQueue.max, next.step == item.step {
                item.flag.formUnion(next.flag)
                if next.flag != .shared { unshared -= 1 }
                _ = stepQueue.popMax()
            }
            if item.flag == .shared, unshared == 0 { break }
            if Int(plan.position[Int(item.step)]) <= zoneBase { continue }
            if item.flag == .a { retreatSteps.append(item.step) } else if item.flag == .b { advanceSteps.append(item.step) }
            for parent in plan.parentSteps(of: plan.steps[Int(item.step)]) { push(parent, item.flag) }
        }
        while stepQueue.popMax() != nil {}
        for stepIndex in retreatSteps {
            loadOperations(ofStep: stepIndex, plan: plan, history: history)
            for index in operationScratch.indices.reversed() {
                change(operationScratch[index], index: operationIndexScratch[index], by: -1)
            }
        }
        for stepIndex in advanceSteps.reversed() {
            loadOperations(ofStep: stepIndex, plan: plan, history: history)
            for index in operationScratch.indices {
                change(operationScratch[index], index: operationIndexScratch[index], by: 1)
            }
        }
    }

    /// Retreats (`delta` -1) or advances (+1) one operation in the prepare version.
    private mutating func change(_ operation: TextOperation, index: Int, by delta: Int32) {
        switch operation.kind {
        case .insert:
            state.addToState(items: operation.lvStart, count: operation.count, delta)
        case .delete:
            targetScratch.removeAll(keepingCapacity: true)
            state.deleteTargets(operation: index, events: operation.lvRange, into: &targetScratch)
            for target in targetScratch { state.addToState(items: target.id, count: target.count, delta) }
        }
    }

    // MARK: - Applying events

    /// Checks `operation` (history operation `index`, clipped) against the text at the
    /// prepare version — whose length is the visible items minus the `phantom`
    /// placeholder items beyond the real document — and applies it, producing patches
    /// if it is not in the text yet (`output`).
    ///
    /// Events already in the text were checked when they arrived; checking them again
    /// keeps a corrupt stored history from ever reaching an impossible state.
    private mutating func checkAndApply(
        _ operation: TextOperation, index: Int, phantom: Int, output: Bool, into patches: inout [TextPatch],
        context: ReplayContext
    ) throws(CRDTError) {
        let length = state.items.total.current - phantom
        if output {
            try validate(operation, length: length, context: context)
        } else if (operation.kind == .insert ? operation.position : operation.position + operation.count) > length {
            throw CRDTError(.malformed, "the stored history is inconsistent: an edit lies outside its text")
        }
        switch operation.kind {
        case .insert:
            applyInsert(operation, output: output, into: &patches, context: context)
            if placementLeft < 0 {
                throw CRDTError(.limitExceeded, "placing the changes' concurrent insertions scans past too many concurrent runs")
            }
        case .delete: applyDelete(operation, index: index, output: output, into: &patches)
        }
    }

    private mutating func applyInsert(
        _ operation: TextOperation, output: Bool, into patches: inout [TextPatch], context: ReplayContext
    ) {
        // The insertion point: right after the visible item at position - 1.
        var originLeft = MergeState.documentStart
        var cursor = state.items.startCursor
        // The end position of the insertion point, while it is known without a walk.
        var knownEndPosition: Int? = 0
        if operation.position > 0 {
            guard let (found, offset, prefix) = state.items.findWithPrefix(operation.position - 1, by: \.current) else {
                preconditionFailure("validated insert position beyond the prepare version")
            }
            let span = state.items[found]
            originLeft = span.id + offset
            knownEndPosition = prefix.end + (span.isDeletedAtEnd ? 0 : offset + 1)
            if offset + 1 < span.count {
                // Inside a run (whose next item is then the origin right): split it.
                cursor = state.splitItems(at: found, offset: offset + 1)
            } else {
                cursor = TreeCursor(leaf: found.leaf, index: found.index + 1)
            }
        }
        // Origin right: the first item after the insertion point that exists in the
        // prepare version (visible or deleted). Runs before it were inserted
        // concurrently and are not in the prepare version.
        var originRight = MergeState.documentEnd
        var scan = normalized(cursor)
        var firstConcurrent: TreeCursor? = nil
        var scanned = 0
        while let current = scan {
            let span = state.items[current]
            if span.state != ItemSpan.notInsertedYet {
                originRight = span.id
                break
            }
            if firstConcurrent == nil { firstConcurrent = current }
            scanned += 1
            scan = state.items.cursor(after: current)
        }
        if let firstConcurrent {
            cursor = integrate(lv: operation.lvStart, originLeft: originLeft, originRight: originRight,
                               from: firstConcurrent, context: context, scanned: &scanned)
            placementLeft = placementLeft &- scanned
            knownEndPosition = nil
        }

        let new = ItemSpan(id: operation.lvStart, count: operation.count, originLeft: originLeft,
                           originRight: originRight, state: ItemSpan.inserted, isDeletedAtEnd: false)
        let endPosition: Int
        if let previous = state.items.cursor(before: cursor), canExtend(state.items[previous], with: new) {
            // Typing on: extend the previous run.
            endPosition = knownEndPosition ?? (state.items.summary(before: previous).end + state.items[previous].count)
            state.extendItems(at: previous, by: operation.count)
        } else {
            let placed = state.insertItems(new, at: cursor, isNew: true)
            endPosition = knownEndPosition ?? state.items.summary(before: placed).end
        }
        if output {
            emit(.insert(position: endPosition, contentStart: operation.contentStart,
                         byteCount: operation.contentByteCount, scalars: operation.count), into: &patches)
        }
    }

    /// Whether `span` (which ends right before the insertion point) can absorb `new`
    /// as a continuation of the same typing run.
    @inline(__always)
    private func canExtend(_ span: ItemSpan, with new: ItemSpan) -> Bool {
        span.id + span.count == new.id && span.id + span.count - 1 == new.originLeft
            && span.originRight == new.originRight && span.state == ItemSpan.inserted && !span.isDeletedAtEnd
    }

    /// A cursor at the end of a leaf moves to the start of the next leaf; nil at the
    /// end of the document.
    @inline(__always)
    private func normalized(_ cursor: TreeCursor) -> TreeCursor? {
        if Int(cursor.index) < state.items.count(ofLeaf: cursor.leaf) { return cursor }
        let next = state.items.nextLeaf(cursor.leaf)
        return next < 0 ? nil : TreeCursor(leaf: next, index: 0)
    }

    /// YjsMod integration: scans the runs inserted concurrently between the origins
    /// (none of them in the prepare version), starting at `first`, and returns the
    /// cursor to insert before.
    private func integrate(lv: LV, originLeft: LV, originRight: LV, from first: TreeCursor, context: ReplayContext,
                           scanned: inout Int) -> TreeCursor {
        let leftPosition = state.rawPosition(ofItem: originLeft)
        var rightPosition: Int? = nil
        var scanning = false
        var scanStart = first
        var current: TreeCursor? = first
        var last = first
        while let cursor = current {
            let other = state.items[cursor]
            if other.id == originRight { break }
            let otherLeftPosition = state.rawPosition(ofItem: other.originLeft)
            if otherLeftPosition < leftPosition { break }
            if otherLeftPosition == leftPosition {
                if other.originRight == originRight {
                    // Siblings with the same origins: the agent order decides.
                    if context.insertsBefore(lv, other.id) { break }
                    scanning = false
                } else {
                    let right = rightPosition ?? state.rawPosition(ofItem: originRight)
                    rightPosition = right
                    if state.rawPosition(ofItem: other.originRight) < right {
                        if !scanning {
                            scanning = true
                            scanStart = cursor
                        }
                    } else {
                        scanning = false
                    }
                }
            }
            last = cursor
            scanned += 1
            current = state.items.cursor(after: cursor)
            if current == nil {
                return scanning ? scanStart : TreeCursor(leaf: last.leaf, index: last.index + 1)
            }
        }
        return scanning ? scanStart : current!
    }

    private mutating func applyDelete(_ operation: TextOperation, index: Int, output: Bool, into patches: inout [TextPatch]) {
        targetScratch.removeAll(keepingCapacity: true)
        var remaining = operation.count
        while remaining > 0 {
            guard let (cursor, offset, prefix) = state.items.findWithPrefix(operation.position, by: \.current) else {
                preconditionFailure("validated delete range beyond the prepare version")
            }
            let span = state.items[cursor]
            let take = min(remaining, span.count - offset)
            if output, !span.isDeletedAtEnd {
                let position = prefix.end + offset
                emit(.delete(position: position, count: take), into: &patches)
            }
            state.changeItems(at: cursor, offset: offset, length: take) { span in
                span.state += 1
                span.isDeletedAtEnd = true
            }
            if let last = targetScratch.last, last.id + last.count == span.id + offset {
                targetScratch[targetScratch.count - 1].count += take  // contiguous items: one entry
            } else {
                targetScratch.append((span.id + offset, take))
            }
            remaining -= take
        }
        // Record which items each delete event removed, for retreat and advance.
        state.recordDeleteTargets(operation: index, events: operation.lvStart, targets: targetScratch,
                                  isForward: operation.isForward)
    }
}

/// A step still to visit while walking the plan's step graph back from two versions;
/// steps are numbered in LV order, so the newest is visited first.
struct StepItem: Comparable {
    var step: Int32
    var flag: ReachFlag
    static func < (lhs: StepItem, rhs: StepItem) -> Bool {
        lhs.step != rhs.step ? lhs.step < rhs.step : lhs.flag.rawValue < rhs.flag.rawValue
    }
}

/// What a replay reads besides the merge state and the history.
private struct ReplayContext {
    let agents: AgentAssignment

    /// Whether item `lv` goes before its concurrent sibling `other` (same origins).
    func insertsBefore(_ lv: LV, _ other: LV) -> Bool {
        let (agent, seq) = agents.agentAndSeq(of: lv)
        let (otherAgent, otherSeq) = agents.agentAndSeq(of: other)
        if agent == otherAgent { return seq < otherSeq }
        return agents.agents[Int(agent)] < agents.agents[Int(otherAgent)]
    }
}
