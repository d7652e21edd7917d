import Testing
@testable import SporCRDT

/// The event graph used below (events 0...5):
///
/// ```
///   0 ─ 1 ─ 2 ─┐
///    └─ 3 ─ 4 ─┴─ 5
/// ```
/// Agent A typed 0, 1, 2; agent B branched off after 0 and typed 3, 4; 5 merges both.
@Suite("Causal graph")
struct CausalGraphTests {
    static func sampleGraph() -> CausalGraph {
        var graph = CausalGraph()
        graph.append(count: 3, parents: [Int]())
        graph.append(count: 2, parents: [0])
        graph.append(count: 1, parents: [2, 4])
        return graph
    }

    @Test("runs are stored run-length encoded, heads follow appends")
    func structure() {
        let graph = Self.sampleGraph()
        #expect(graph.entries.count == 3)
        #expect(graph.heads == [5])
        #expect(graph.parents(of: 1) == [0])
        #expect(graph.parents(of: 3) == [0])
        #expect(graph.parents(of: 5) == [2, 4])
        #expect(graph.checkInvariants() == nil)
        var linear = CausalGraph()
        linear.append(count: 2, parents: [Int]())
        linear.appendOnHeads(count: 5)
        linear.append(count: 1, parents: [6])
        #expect(linear.entries.count == 1, "typing on extends the single run")
        #expect(linear.heads == [7])
    }

    @Test("diff gives the events only one side has")
    func diff() {
        let graph = Self.sampleGraph()
        var result = graph.diff([2], [4])
        #expect(result.onlyA == [LVRange(1, 3)])
        #expect(result.onlyB == [LVRange(3, 5)])
        result = graph.diff([5], [2])
        #expect(result.onlyA == [LVRange(3, 6)])
        #expect(result.onlyB.isEmpty)
        result = graph.diff([2, 4], [5])
        #expect(result.onlyA.isEmpty)
        #expect(result.onlyB == [LVRange(5, 6)])
        result = graph.diff([Int](), [1])
        #expect(result.onlyB == [LVRange(0, 2)])
        result = graph.diff([3], [3])
        #expect(result.onlyA.isEmpty && result.onlyB.isEmpty)
    }

    @Test("the conflict zone reaches back to the event both sides descend from")
    func conflictZone() {
        let graph = Self.sampleGraph()
        var walker = GraphWalker()
        let common = walker.conflictZone(graph, [2], [5])
        #expect(common == 0)
        let zone = walker.zone.map { "\($0.range)\($0.flag == .shared ? "s" : $0.flag == .a ? "a" : "b")" }
        // Touching ranges reached from the same side are reported as one.
        #expect(zone == ["3..<6b", "1..<3s"])
        // Two histories that both start from the empty document meet nowhere.
        var roots = CausalGraph()
        roots.append(count: 1, parents: [Int]())
        roots.append(count: 1, parents: [Int]())
        #expect(walker.conflictZone(roots, [0], [0, 1]) == nil)
    }

    @Test("ancestry queries and frontier reduction")
    func ancestry() {
        let graph = Self.sampleGraph()
        #expect(graph.contains(0, inVersion: [4]))
        #expect(!graph.contains(1, inVersion: [4]))
        #expect(graph.contains(4, inVersion: [5]))
        #expect(!graph.contains(5, inVersion: [2, 4]))
        #expect(graph.frontier(reducing: [0, 2, 4]) == [2, 4])
        #expect(graph.frontier(reducing: [5, 1, 3]) == [5])
    }

    @Test("agent assignment maps both ways and answers what a peer lacks")
    func agentAssignment() throws {
        var agents = AgentAssignment()
        let alice = agents.index(of: try AgentID("alice"))
        let bob = agents.index(of: try AgentID("bob"))
        agents.append(agent: alice, count: 3)   // LV 0..<3 = alice 0..<3
        agents.append(agent: bob, count: 2)     // LV 3..<5 = bob 0..<2
        agents.append(agent: alice, count: 2)   // LV 5..<7 = alice 3..<5
        #expect(agents.agentAndSeq(of: 6) == (alice, 4))
        #expect(agents.lv(ofAgent: bob, seq: 1) == 4)
        #expect(agents.lv(ofAgent: alice, seq: 3) == 5)
        #expect(agents.lv(ofAgent: alice, seq: 5) == nil)
        var vector = VersionVector()
        vector[try AgentID("alice")] = 4
        #expect(agents.ranges(notIn: vector) == [LVRange(3, 5), LVRange(6, 7)])
        #expect(agents.ranges(notIn: agents.versionVector).isEmpty)
    }

    @Test("agent and container names are validated")
    func names() throws {
        #expect(throws: CRDTError.self) { try AgentID("") }
        #expect(throws: CRDTError.self) { try AgentID(String(repeating: "ø", count: 40)) }
        #expect(throws: CRDTError.self) { try AgentID("tab\there") }
        #expect((try? AgentID("Ærø Kommune 🌱")) != nil)
        #expect(throws: CRDTError.self) { try ContainerID("") }
        // Agent order is byte order of the UTF-8 names.
        #expect(try AgentID("Z") < AgentID("a"))
        #expect(try AgentID("z") < AgentID("æ"))
    }
}

@Suite("Merge plan")
struct MergePlanTests {
    /// Critical cuts by definition: every step after the cut descends from every step
    /// before it. Checked by brute force against the plan's incremental computation.
    @Test("critical cuts match their definition on real concurrent histories",
          arguments: [("friendsforever", 5_000), ("node-nodecc", Int.max)])
    func criticalCutsMatchDefinition(name: String, upTo lastEvent: Int) throws {
        let trace = try Traces.load(name)
        let document = try trace.appendBranches()
        let graph = document.log.graph
        // The brute force below is quadratic: plan long histories up to an earlier version.
        let target = lastEvent < graph.count ? [lastEvent] : graph.heads
        var walker = GraphWalker()
        let plan = MergePlan(graph: graph, from: [], to: target, walker: &walker)
        var ancestors = [Set<Int32>](repeating: [], count: plan.steps.count)
        for index in plan.steps.indices {  // steps are in LV order, a topological order
            for parent in plan.parentSteps(of: plan.steps[index]) {
                ancestors[index].insert(parent)
                ancestors[index].formUnion(ancestors[Int(parent)])
            }
        }
        var before = Set<Int32>()
        var criticalCount = 0
        for k in plan.order.indices {
            before.insert(plan.order[k])
            let critical = plan.order[(k + 1)...].allSatisfy { before.isSubset(of: ancestors[Int($0)]) }
            #expect(plan.criticalAfter[k] == critical, "cut after position \(k)")
            if critical { criticalCount += 1 }
        }
        #expect(criticalCount > 1, "the trace has critical versions inside its history")
    }

    @Test("two branches then their merge: the cut before the merge is critical")
    func multiHeadCriticalCut() {
        // 0-1 (one branch) and 2-3 (another, from the empty document), 4 merges both.
        var graph = CausalGraph()
        graph.append(count: 2, parents: [Int]())
        graph.append(count: 2, parents: [Int]())
        graph.append(count: 1, parents: [1, 3])
        var walker = GraphWalker()
        let plan = MergePlan(graph: graph, from: [], to: graph.heads, walker: &walker)
        #expect(plan.order.count == 3)
        #expect(plan.criticalAfter == [false, true, true])
    }
}
