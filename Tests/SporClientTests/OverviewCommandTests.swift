import Foundation
import SporTestSupport
import Testing

/// `spor overview` as the secretariat uses it after `spor sync`: every proposal of the
/// round in one table in Danish, sorted as asked, and as CSV for a spreadsheet.
@Suite("the secretariat's overview", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct OverviewCommandTests {
    static let danish = ["LANG": "da_DK.UTF-8"]

    @Test("after sync the secretariat sees every proposal: lead, partners, status, amount, blocking count, days to the deadline; sorted; CSV; a bad column named")
    func overview() throws {
        let server = try ServerProcess()
        var aarhus = try SporCLI()
        aarhus.now = "2024-10-01T08:00:00Z"
        try aarhus.setUp(server, "Aarhus Kommune", kind: "kommune", code: "0751")
        let first = try aarhus.newProposal("Grønne tage", "--round", "2024-autumn")
        try aarhus.ok("set", first, "amountRequested", "1.250.000")
        try aarhus.ok("participant", "add", first, "--org", "0461", "--role", "partner")
        var vejle = try SporCLI()
        vejle.now = "2024-10-01T08:00:00Z"
        try vejle.setUp(server, "Vejle Kommune", kind: "kommune", code: "0630")
        let second = try vejle.newProposal("=Skybrud i Vejle", "--round", "2024-autumn")
        try vejle.ok("set", second, "amountRequested", "400.000")
        try aarhus.ok("sync")
        try vejle.ok("sync")

        var office = try SporCLI()
        office.now = "2024-10-01T08:00:00Z"
        try office.setUp(server, "Sekretariatets kontor", kind: "secretariat", code: "sek")
        try office.ok("sync")
        let table = try office.ok("overview", "--sort", "amount", "--descending", environment: Self.danish)
            .split(separator: "\n").map(String.init)
        #expect(table.count == 3, "\(table)")
        #expect(table[0].hasPrefix("Titel") && table[0].contains("Tovholder") && table[0].contains("Næste frist"), "\(table[0])")
        #expect(table[1].hasPrefix("Grønne tage") && table[1].contains("Aarhus Kommune") && table[1].contains("Odense Kommune")
                && table[1].contains("1.250.000 kr.") && table[1].contains("om 6 dage"), "\(table[1])")
        #expect(table[2].hasPrefix("=Skybrud i Vejle") && table[2].contains("Vejle Kommune") && table[2].contains("400.000 kr."), "\(table[2])")
        let ascending = try office.ok("overview", "--sort", "amount", environment: Self.danish).split(separator: "\n").map(String.init)
        #expect(ascending.dropFirst().map { $0.prefix(6) } == ["=Skybr", "Grønne"])

        let csv = try office.ok("overview", "--csv", environment: Self.danish)
        #expect(csv.hasPrefix("\u{FEFF}\"Id\";\"Titel\""))
        #expect(csv.contains("\"\(second)\";\"'=Skybrud i Vejle\";\"Vejle Kommune\""), "a title is never a formula: \(csv)")
        #expect(csv.contains("\"\(first)\";\"Grønne tage\";\"Aarhus Kommune\";\"Odense Kommune\";\"Kladde\";\"1250000\";"), "\(csv)")

        let json = try office.run("overview", "--json")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(Set(rows.compactMap { $0["id"] as? String }) == [first, second])
        #expect(rows.allSatisfy { $0["daysToDeadline"] as? Int == 6 && $0["nextStep"] as? String == "qualification" })

        // A member sees its own proposals only: Vejle's overview has one row.
        #expect(try vejle.ok("overview").split(separator: "\n").count == 2)
        let bad = try office.run("overview", "--sort", "farve", environment: Self.danish)
        #expect(bad.status != 0 && bad.stderr.contains("der er ingen kolonne") && bad.stderr.contains("deadline"), "\(bad.stderr)")
    }
}
