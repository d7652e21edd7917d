import Foundation
import SporTestSupport
import Testing

/// The web overview in a real browser: Debian's headless Chromium driven through
/// chromium-driver, as the secretariat and a municipality use it. Screenshots of each
/// page are kept in `.build/test-artifacts/web/` (the PNGs in docs/ come from there).
@Suite("the web overview in Chromium", .serialized, .timeLimit(.minutes(5)), .blockingCallsAllowed,
       .enabled(if: WebDriver.isAvailable, "chromium and chromium-driver are not installed (scripts/test-tools installs them)"))
struct BrowserTests {
    static let artifacts: String = {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = repository.appendingPathComponent(".build/test-artifacts/web").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }()

    static func keep(_ png: Data, as name: String) throws {
        try png.write(to: URL(fileURLWithPath: artifacts).appendingPathComponent(name))
    }

    /// The fixture's proposals among the rows shown, in the order shown.
    static func rows(_ driver: WebDriver, among ids: [String]) async throws -> [String] {
        var shown: [String] = []
        for row in try await driver.findAll("tr[data-proposal]") {
            if let id = try await driver.attribute("data-proposal", of: row), ids.contains(id) { shown.append(id) }
        }
        return shown
    }

    @Test("the secretariat logs in with the keyboard, sees the round, sorts it, downloads the CSV, opens a proposal and logs out")
    func secretariatsDay() async throws {
        let round = try await WebRound.shared()
        let driver = try await WebDriver.start()
        do {
            try await driver.open(round.base + "/proposals")
            #expect(try await driver.currentURL().hasSuffix("/login"), "no session: to the login form")
            try Self.keep(try await driver.screenshot(), as: "login.png")
            // The first Tab reaches the skip link, and the token field has its label.
            try await driver.press("\u{E004}")
            #expect(try await driver.text(of: try await driver.activeElement()) == "Gå til indholdet")
            let field = try await driver.find("#token")
            #expect(try await driver.text(of: try await driver.find("label[for=token]")) == "Nøgle")
            try await driver.type(round.secretariatToken, into: field)
            try await driver.press("\u{E007}")
            try await driver.wait(for: "the round page") { try await driver.currentURL().hasSuffix("/proposals") }
            #expect(try await driver.title() == "Forslag – Spor")
            let fixture = [round.complete, round.draft]
            #expect(Set(try await Self.rows(driver, among: fixture)) == Set(fixture), "the secretariat sees every proposal")
            try Self.keep(try await driver.screenshot(), as: "round.png")

            // Sorting by title, then the other way.
            try await driver.click(try await driver.find("a[data-column=title]"))
            try await driver.wait(for: "sorted by title") { try await driver.currentURL().contains("sort=title&order=asc") }
            #expect(try await Self.rows(driver, among: fixture) == [round.draft, round.complete], "“=Skybrud” before “Grønne” as folded text")
            try await driver.click(try await driver.find("a[data-column=title]"))
            try await driver.wait(for: "sorted by title, descending") { try await driver.currentURL().contains("sort=title&order=desc") }
            #expect(try await Self.rows(driver, among: fixture) == [round.complete, round.draft])
            #expect(try await driver.attribute("aria-sort", of: try await driver.find("th[aria-sort=descending]")) == "descending")

            // The CSV download lands in the download folder as Excel reads it.
            try await driver.click(try await driver.find("a.download"))
            var csv = Data()
            try await driver.wait(seconds: 20, for: "the CSV download") {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: driver.downloads)) ?? []
                guard let name = names.first(where: { $0 == "spor-forslag-2024-10-01.csv" }) else { return false }
                csv = (try? Data(contentsOf: URL(fileURLWithPath: driver.downloads + "/" + name))) ?? Data()
                return !csv.isEmpty
            }
            let text = String(decoding: csv, as: UTF8.self)
            #expect(csv.starts(with: [0xEF, 0xBB, 0xBF] + Array("\"Id\";\"Titel\"".utf8)), "a byte-order mark for Excel, Danish separators")
            #expect(text.contains(round.complete) && text.contains(round.draft))

            // A proposal's page from its row.
            try await driver.click(try await driver.find("tr[data-proposal=\"\(round.complete)\"] th a"))
            try await driver.wait(for: "the proposal page") { try await driver.currentURL().hasSuffix("/proposals/\(round.complete)") }
            #expect(try await driver.text(of: try await driver.find("main > h1")) == "Grønne tage i Aarhus")
            #expect(try await driver.text(of: try await driver.find("table.members")).contains("Aarhus Kommune Tovholder"))
            #expect(try await driver.text(of: try await driver.find("table.submissions")).contains("ja"))
            try Self.keep(try await driver.screenshot(), as: "proposal.png")

            // English on request, and back.
            try await driver.click(try await driver.find("a[hreflang=en]"))
            try await driver.wait(for: "English") { try await driver.text(of: try await driver.find("#process-heading")) == "Process record" }
            try await driver.click(try await driver.find("a[hreflang=da]"))
            try await driver.wait(for: "Danish") { try await driver.text(of: try await driver.find("#process-heading")) == "Sagsforløb" }

            try await driver.click(try await driver.find("nav form button"))
            try await driver.wait(for: "logged out") { try await driver.currentURL().hasSuffix("/login") }
            try await driver.open(round.base + "/proposals")
            #expect(try await driver.currentURL().hasSuffix("/login"), "the session is gone")
        } catch {
            await driver.quit()
            throw error
        }
        await driver.quit()
    }

    @Test("a municipality sees exactly its own proposals, and another's address shows the page an unknown proposal gets")
    func member() async throws {
        let round = try await WebRound.shared()
        let driver = try await WebDriver.start()
        do {
            try await driver.open(round.base + "/login")
            try await driver.type(round.vejleToken, into: try await driver.find("#token"))
            try await driver.click(try await driver.find("form.login button"))
            try await driver.wait(for: "the round page") { try await driver.currentURL().hasSuffix("/proposals") }
            var shown: [String] = []
            for row in try await driver.findAll("tr[data-proposal]") { shown.append(try await driver.attribute("data-proposal", of: row) ?? "") }
            #expect(shown.contains(round.draft) && !shown.contains(round.complete), "\(shown)")
            #expect(shown.allSatisfy { $0.hasPrefix("0630.") }, "only Vejle's own: \(shown)")
            #expect(try await driver.text(of: try await driver.find("span.who")).contains("Vejle Kommune"))
            try await driver.open(round.base + "/proposals/\(round.complete)")
            #expect(try await driver.text(of: try await driver.find("main h1")) == "Forslaget findes ikke")
        } catch {
            await driver.quit()
            throw error
        }
        await driver.quit()
    }
}
