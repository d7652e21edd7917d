import AsyncHTTPClient
import Foundation
import NIOCore
import SporTestSupport
import Testing

/// The web overview over plain HTTP, as a browser or a hostile script would send it:
/// who sees what, and every way in without a live session or a form's token refused.
@Suite("the web overview's access rules", .timeLimit(.minutes(5)), .blockingCallsAllowed)
struct WebAccessTests {
    @Test("without a session, with a forged or malformed cookie: every page and download sends to the login form and shows nothing")
    func noSession() async throws {
        let round = try await WebRound.shared()
        let visitor = WebVisitor(round.base)
        let paths = ["/", "/proposals", "/proposals.csv", "/proposals/\(round.complete)", "/proposals/\(round.complete)/download/docx",
                     "/proposals/\(round.complete)/download/html", "/proposals/nope"]
        for cookie in [nil, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "../../etc/passwd", String(repeating: "x", count: 5000)] {
            for path in paths {
                await visitor.setCookie("spor_session", cookie)
                let page = try await visitor.get(path)
                #expect(page.status == 303 && page.location == "/login", "\(path) with \(cookie ?? "no cookie"): \(page.status)")
                #expect(!page.body.contains("Grønne tage"), "\(path)")
                if cookie != nil, path != "/" {
                    #expect(page.setCookies.contains { $0.hasPrefix("spor_session=;") && $0.contains("Max-Age=0") }, "the dead cookie is cleared: \(page.setCookies)")
                }
            }
        }
        let login = try await visitor.get("/login")
        #expect(login.status == 200 && login.body.contains("<label for=\"token\">Nøgle</label>"), "Danish by default")
    }

    @Test("a session ends when its lifetime is over", .timeLimit(.minutes(2)))
    func expiredSession() async throws {
        // 0.0005 hours: 1.8 seconds.
        let server = try ServerProcess(arguments: ["--web", "127.0.0.1:0", "--web-session-hours", "0.0005"])
        let visitor = WebVisitor(try #require(server.webAddress))
        let login = try await visitor.logIn(try server.secretariatToken())
        #expect(login.status == 303 && login.location == "/proposals")
        #expect(try await visitor.get("/proposals").status == 200)
        try await Task.sleep(for: .seconds(2.5))
        let later = try await visitor.get("/proposals")
        #expect(later.status == 303 && later.location == "/login", "expired: \(later.status)")
    }

    @Test("a member sees its own proposals only; another's page and downloads answer exactly as an unknown proposal does")
    func memberSeesItsOwn() async throws {
        let round = try await WebRound.shared()
        let vejle = WebVisitor(round.base)
        try await vejle.logIn(round.vejleToken)
        let table = try await vejle.get("/proposals")
        #expect(table.status == 200)
        #expect(table.body.contains("data-proposal=\"\(round.draft)\""))
        #expect(!table.body.contains(round.complete) && !table.body.contains("Grønne tage"), "Aarhus's proposal is not Vejle's to see")
        let csv = try await vejle.get("/proposals.csv")
        #expect(csv.body.contains(round.draft) && !csv.body.contains(round.complete))

        let unknown = try await vejle.get("/proposals/0630.ingen-saadan")
        #expect(unknown.status == 404)
        for suffix in ["", "/download/html", "/download/markdown", "/download/docx"] {
            let other = try await vejle.get("/proposals/\(round.complete)\(suffix)")
            #expect(other.status == 404, "\(suffix): \(other.status)")
            #expect(other.body == unknown.body, "refusal and absence look the same (\(suffix))")
            #expect(!other.body.contains("Grønne tage") && !other.body.contains("Aarhus"))
        }
        let own = try await vejle.get("/proposals/\(round.draft)")
        #expect(own.status == 200)

        let aarhus = WebVisitor(round.base)
        try await aarhus.logIn(round.aarhusToken)
        let aarhusTable = try await aarhus.get("/proposals")
        #expect(aarhusTable.body.contains(round.complete) && !aarhusTable.body.contains(round.draft))
    }

    @Test("CSRF: login and logout refused without the form's token, with another's, or from another site; a correct logout ends the session")
    func csrf() async throws {
        let round = try await WebRound.shared()
        let visitor = WebVisitor(round.base)
        // Login without the form's cookie, with a made-up token field, and from another site.
        let noForm = try await visitor.post("/login", form: [("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), ("token", round.secretariatToken)])
        #expect(noForm.status == 403 && noForm.setCookies.allSatisfy { !$0.hasPrefix("spor_session=") })
        let form = try await visitor.get("/login")
        let wrong = try await visitor.post("/login", form: [("csrf", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"), ("token", round.secretariatToken)])
        #expect(wrong.status == 403)
        let crossSite = try await visitor.post("/login", form: [("csrf", form.csrf ?? ""), ("token", round.secretariatToken)],
                                               headers: [("Origin", "https://angriber.example")])
        #expect(crossSite.status == 403)
        let fetchSite = try await visitor.post("/login", form: [("csrf", form.csrf ?? ""), ("token", round.secretariatToken)],
                                               headers: [("Sec-Fetch-Site", "cross-site")])
        #expect(fetchSite.status == 403)
        #expect(try await visitor.get("/proposals").status == 303, "none of them logged in")

        let loggedIn = try await visitor.logIn(round.secretariatToken)
        #expect(loggedIn.status == 303 && loggedIn.location == "/proposals")
        let table = try await visitor.get("/proposals")
        let csrf = try #require(table.csrf)
        // Logout needs the session's own token: none, another session's, a cross-site post.
        #expect(try await visitor.post("/logout", form: []).status == 403)
        let other = WebVisitor(round.base)
        try await other.logIn(round.secretariatToken)
        let othersToken = try #require(try await other.get("/proposals").csrf)
        #expect(othersToken != csrf)
        #expect(try await visitor.post("/logout", form: [("csrf", othersToken)]).status == 403)
        #expect(try await visitor.post("/logout", form: [("csrf", csrf)], headers: [("Origin", "http://angriber.example")]).status == 403)
        #expect(try await visitor.get("/proposals").status == 200, "still logged in")
        let out = try await visitor.post("/logout", form: [("csrf", csrf)])
        #expect(out.status == 303 && out.location == "/login")
        #expect(try await visitor.get("/proposals").status == 303, "logged out")
        #expect(try await other.get("/proposals").status == 200, "the other session lives on")
        // A form over 8 KB is refused before it is read.
        let big = try await WebVisitor(round.base).post("/login", form: [("token", String(repeating: "a", count: 20_000))])
        #expect(big.status == 413, "\(big.status)")
    }

    @Test("a wrong token is refused in Danish, and after ten from one address the address must wait")
    func wrongTokens() async throws {
        let server = try ServerProcess(arguments: ["--web", "127.0.0.1:0"])
        let visitor = WebVisitor(try #require(server.webAddress))
        let first = try await visitor.logIn("spor_forkert")
        #expect(first.status == 401 && first.body.contains("Nøglen passer ikke"), "\(first.status)")
        for _ in 2...10 { _ = try await visitor.logIn("spor_forkert") }
        let limited = try await visitor.logIn(try server.secretariatToken())
        #expect(limited.status == 429 && limited.body.contains("For mange forsøg"), "even the right token waits: \(limited.status)")
    }

    @Test("revoking an organisation's token ends its web session at the next request")
    func revocation() async throws {
        let round = try await WebRound.shared()
        let token = try round.server.addOrganisation("Horsens Kommune", kind: "kommune", code: "0615")
        let visitor = WebVisitor(round.base)
        #expect(try await visitor.logIn(token).status == 303)
        #expect(try await visitor.get("/proposals").status == 200)
        let revoked = try round.server.admin(["org", "revoke", "0615"])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let after = try await visitor.get("/proposals")
        #expect(after.status == 303 && after.location == "/login")
    }

    @Test("every response: no scripts, no framing, nothing cached but the stylesheet; cookies HttpOnly and SameSite=Strict")
    func headers() async throws {
        let round = try await WebRound.shared()
        let visitor = WebVisitor(round.base)
        let login = try await visitor.logIn(round.secretariatToken)
        let session = try #require(login.setCookies.first { $0.hasPrefix("spor_session=") })
        #expect(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Max-Age=28800") && session.contains("Path=/"))
        #expect(!session.contains("Secure"), "plain HTTP on loopback: a Secure cookie would never come back")
        for path in ["/proposals", "/proposals/\(round.complete)", "/login", "/static/spor.css"] {
            let page = try await visitor.get(path)
            let policy = page.headers.first(name: "content-security-policy") ?? ""
            #expect(policy.contains("default-src 'none'") && !policy.contains("script-src") && policy.contains("frame-ancestors 'none'"), "\(path): \(policy)")
            #expect(page.headers.first(name: "x-content-type-options") == "nosniff")
            let cache = page.headers.first(name: "cache-control") ?? ""
            #expect(path == "/static/spor.css" ? cache.hasPrefix("public") : cache == "no-store", "\(path): \(cache)")
        }
    }

    @Test("under TLS the session cookie is Secure and the browser is told to stay on HTTPS")
    func tls() async throws {
        let server = try ServerProcess(arguments: ["--web", "127.0.0.1:0", "--tls-cert", tlsTestFile("server.pem"), "--tls-key", tlsTestFile("server.key")])
        let port = try #require(server.webPort)
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.tlsConfiguration = .makeClientConfiguration()
        configuration.tlsConfiguration?.certificateVerification = .none
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/login")
        request.method = .GET
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        try await client.shutdown()
        #expect(response.status.code == 200 && body.contains("name=\"csrf\""))
        #expect(response.headers["set-cookie"].contains { $0.hasPrefix("spor_login=") && $0.contains("Secure") && $0.contains("HttpOnly") })
        #expect(response.headers.first(name: "strict-transport-security")?.hasPrefix("max-age=") == true)
    }
}
