import SporTestSupport
import Testing
@testable import SporCRDT

/// `merge(encodedChanges:placementBudget:)` bounds the work of placing concurrent
/// insertions (YjsMod scans the runs inserted concurrently at the same place): past
/// the budget the merge throws `limitExceeded` and changes nothing; the count is the
/// same whenever the same changes meet the same document.
@Suite("Placement budget of a merge")
struct PlacementBudgetTests {
    /// A twentieth of the server's default budget (100,000): what the real concurrent
    /// traces must stay within, in any one merge (node-nodecc's replicas scan at most
    /// 2,298 in one pull; its whole history merged at once, 1,271).
    static let realHistoryBound = 5_000

    static let list: ContainerID = {
        do { return try ContainerID.root("poster", .list) } catch { preconditionFailure("\(error)") }
    }()

    @Test("text and list: the count is exact — a budget one below it refuses, the count itself merges", arguments: [false, true])
    func budgetIsExact(isList: Bool) throws {
        let target = isList ? Self.list : nil
        let first = try Document.frontInserts(by: "0751/a", count: 120, list: target)
        let second = try Document.frontInserts(by: "0751/b", count: 80, list: target).encodedChanges()
        var unbounded = first
        try unbounded.merge(encodedChanges: second)
        let scans = unbounded.placementScansOfLastMerge
        // Each of the 80 is placed past at least the first writer's 120.
        #expect(scans >= 80 * 120, "\(scans) scans")

        var refused = first
        #expect(throws: CRDTError.self) { try refused.merge(encodedChanges: second, placementBudget: scans - 1) }
        do throws(CRDTError) {
            try refused.merge(encodedChanges: second, placementBudget: scans - 1)
            Issue.record("merged past its budget")
        } catch {
            #expect(error.code == .limitExceeded)
            #expect(error.message.contains("more than \(scans - 1) concurrent items"), "\(error.message)")
        }
        // Nothing changed: the same document as before, and it still merges.
        #expect(refused.versionVector == first.versionVector)
        #expect(refused.text() == first.text())
        #expect(refused.list(Self.list).map(\.value) == first.list(Self.list).map(\.value))

        var bounded = first
        try bounded.merge(encodedChanges: second, placementBudget: scans)
        #expect(bounded.placementScansOfLastMerge == scans)
        #expect(bounded.text() == unbounded.text())
        #expect(bounded.list(Self.list).map(\.value) == unbounded.list(Self.list).map(\.value))
        #expect((isList ? bounded.list(Self.list).count : bounded.textLength()) == 200)
    }

    @Test("writers typing on (runs) do not scan: two long concurrent runs at the same place cost a few scans")
    func typingOnIsCheap() throws {
        var first = Document(agent: try AgentID("0751/a"))
        var second = Document(agent: try AgentID("0751/b"))
        for index in 0..<2_000 {
            try first.insert("a", at: index)
            try second.insert("b", at: index)
        }
        try first.merge(encodedChanges: try second.encodedChanges(), placementBudget: 10)
        #expect(first.placementScansOfLastMerge <= 10)
        #expect(first.textLength() == 4_000)
    }

    @Test("linear history and merges without a budget are not limited")
    func noBudgetNoLimit() throws {
        let first = try Document.frontInserts(by: "0751/a", count: 300, list: nil)
        var replica = Document()
        try replica.merge(encodedChanges: try first.encodedChanges(), placementBudget: 0)
        #expect(replica.placementScansOfLastMerge == 0, "nothing concurrent, nothing scanned")
        try replica.merge(encodedChanges: try Document.frontInserts(by: "0751/b", count: 300, list: nil).encodedChanges())
        #expect(replica.textLength() == 600)
        #expect(replica.placementScansOfLastMerge >= 300 * 300)
    }
}
