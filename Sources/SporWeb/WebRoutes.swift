import Foundation
import Hummingbird
import NIOCore
import SporDocuments
import SporProposal
import SporServer

/// The web overview's pages and what each refuses.
///
/// | route | without a session | refused |
/// |---|---|---|
/// | `GET /` | → `/login` | |
/// | `GET /login`, `POST /login` | the form | 403 without the form's CSRF token or from another site, 401 for a wrong token, 429 after 10 failures in 10 min from one address, 413 for a form over 8 KB |
/// | `POST /logout` | → `/login` | 403 without the session's CSRF token or from another site |
/// | `GET /proposals[.csv]?sort=&order=&round=` | → `/login` | 400 for an unknown column, order or round |
/// | `GET /proposals/ID`, `…/download/html|markdown|docx` | → `/login` | 404 for a proposal the account may not read, exactly as for one that does not exist |
/// | `GET /language?to=da|en&back=PATH` | sets the language cookie | `back` must be a path on this site |
/// | `GET /static/spor.css` | the stylesheet | |
struct WebRoutes {
    let server: SporWebServer

    /// A signed-in request: the account (looked up again by its token's hash, so a
    /// revoked or rotated token ends the session) and its session.
    struct SignedIn {
        let account: Account
        let session: WebSessions.Session
        let id: String
    }

    func register(on router: Router<WebRequestContext>) {
        router.get("/") { request, _ in
            await signedIn(request) == nil ? Self.redirect("/login") : Self.redirect("/proposals")
        }
        router.get("/static/spor.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: WebTemplates.stylesheet)))
        }
        router.get("/language") { request, _ in languageChange(request) }
        router.get("/login") { request, _ in
            if await signedIn(request) != nil { return Self.redirect("/proposals") }
            return loginForm(request, status: .ok, problem: nil)
        }
        router.post("/login") { request, context in try await login(request, context: context) }
        router.post("/logout") { request, _ in try await logout(request) }
        router.get("/proposals") { request, _ in try await roundPage(request, csv: false) }
        router.get("/proposals.csv") { request, _ in try await roundPage(request, csv: true) }
        router.get("/proposals/:id") { request, context in try await proposalPage(request, id: context.parameters.get("id") ?? "") }
        router.get("/proposals/:id/download/:format") { request, context in
            try await download(request, id: context.parameters.get("id") ?? "", format: context.parameters.get("format") ?? "")
        }
    }

    // MARK: Sessions

    func signedIn(_ request: Request) async -> SignedIn? {
        guard let id = request.cookies[SporWebServer.sessionCookie]?.value, let session = server.sessions.session(id) else { return nil }
        guard let account = try? await server.store.liveAccount(tokenHash: session.tokenHash), account.id == session.account else {
            server.sessions.close(id)
            return nil
        }
        return SignedIn(account: account, session: session, id: id)
    }

    /// The answer for a page asked for without a live session: to the login form, and
    /// the dead cookie (forged, expired, revoked) cleared.
    func toLogin(_ request: Request) -> Response {
        var response = Self.redirect("/login")
        if request.cookies[SporWebServer.sessionCookie] != nil { response.setCookie(expired(SporWebServer.sessionCookie)) }
        return response
    }

    func loginForm(_ request: Request, status: HTTPResponse.Status, problem: String?) -> Response {
        let text = Self.text(for: request)
        let nonce = WebSessions.randomToken()
        var response = server.page("login", WebPages.Login(l: text.labels, csrf: nonce, problem: problem), title: text.labels.loginTitle,
                                   text: text, request: request, status: status)
        response.setCookie(cookie(SporWebServer.loginCookie, nonce, maxAge: 1800, path: "/login"))
        return response
    }

    struct LoginForm: Decodable { let token: String; let csrf: String }
    struct CSRFForm: Decodable { let csrf: String }

    func login(_ request: Request, context: WebRequestContext) async throws -> Response {
        let text = Self.text(for: request)
        guard Self.isSameSite(request) else { return forbidden(text) }
        let body = try await Self.form(request)
        guard let form = try? URLEncodedFormDecoder().decode(LoginForm.self, from: body),
              let nonce = request.cookies[SporWebServer.loginCookie]?.value, WebSessions.isWellFormed(nonce),
              WebSessions.sameSecret(nonce, form.csrf) else {
            return server.problem(status: .forbidden, text: text, heading: text.say("Formularen er udløbet", "The form has expired"),
                                  message: text.say("Indlæs login-siden igen og prøv en gang til.", "Load the login page again and try once more."),
                                  link: ("/login", text.labels.loginTitle))
        }
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        guard server.attempts.mayTry(address) else {
            return server.problem(status: .tooManyRequests, text: text, heading: text.say("For mange forsøg", "Too many attempts"),
                                  message: text.say("Der er prøvet for mange forkerte nøgler herfra. Vent 10 minutter og prøv igen.",
                                                    "Too many wrong tokens were tried from here. Wait 10 minutes and try again."),
                                  link: ("/login", text.labels.loginTitle))
        }
        let token = form.token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.utf8.count <= SporWebServer.maxTokenBytes, let account = try await server.store.account(forToken: token) else {
            server.attempts.failed(address)
            server.logger.notice("web login refused", metadata: ["address": "\(address)"])
            return loginForm(request, status: .unauthorized,
                             problem: text.say("Nøglen passer ikke til nogen organisation på denne server. Tjek at hele nøglen er med.",
                                               "The token does not match any organisation on this server. Check that the whole token is there."))
        }
        server.attempts.succeeded(address)
        let (id, _) = server.sessions.open(account: account.id, tokenHash: SporStore.tokenHash(of: token))
        server.logger.info("web login", metadata: ["organisation": "\(account.id)", "address": "\(address)"])
        var response = Self.redirect("/proposals")
        response.setCookie(cookie(SporWebServer.sessionCookie, id, maxAge: Int(server.sessions.lifetime), path: "/"))
        response.setCookie(expired(SporWebServer.loginCookie, path: "/login"))
        return response
    }

    func logout(_ request: Request) async throws -> Response {
        let text = Self.text(for: request)
        guard Self.isSameSite(request) else { return forbidden(text) }
        guard let signedIn = await signedIn(request) else { return toLogin(request) }
        let body = try await Self.form(request)
        guard let form = try? URLEncodedFormDecoder().decode(CSRFForm.self, from: body),
              WebSessions.sameSecret(form.csrf, signedIn.session.csrf) else { return forbidden(text) }
        server.sessions.close(signedIn.id)
        var response = Self.redirect("/login")
        response.setCookie(expired(SporWebServer.sessionCookie))
        return response
    }

    func forbidden(_ text: WebText) -> Response {
        server.problem(status: .forbidden, text: text, heading: text.say("Afvist", "Refused"),
                       message: text.say("Formularen kom ikke fra denne side, eller den er udløbet. Indlæs siden igen.",
                                         "The form did not come from this site, or it has expired. Load the page again."))
    }

    // MARK: Pages

    func roundPage(_ request: Request, csv: Bool) async throws -> Response {
        guard let signedIn = await signedIn(request) else { return toLogin(request) }
        let text = Self.text(for: request)
        let calendar = (try? server.store.rounds()) ?? .builtIn
        let query = request.uri.queryParameters
        var table = WebPages.TableRequest()
        if let sort = query.get("sort"), !sort.isEmpty {
            guard let column = RoundOverview.Column(rawValue: sort) else {
                return badRequest(text, text.say("Der er ingen kolonne ved navn \(String(sort.prefix(40))).", "There is no column named \(String(sort.prefix(40)))."))
            }
            table.sort = column
        }
        switch query.get("order") ?? "asc" {
        case "asc", "": table.descending = false
        case "desc": table.descending = true
        default: return badRequest(text, text.say("Rækkefølgen er asc eller desc.", "The order is asc or desc."))
        }
        if let round = query.get("round"), !round.isEmpty {
            guard calendar.rounds.contains(where: { $0.id == round }) else {
                return badRequest(text, text.say("Der er ingen runde ved navn \(String(round.prefix(40))).", "There is no round named \(String(round.prefix(40)))."))
            }
            table.round = round
        }
        let now = server.configuration.now()
        let heads = try await server.store.documentHeads(visibleTo: signedIn.account)
        let entries = try await server.cache.entries(for: heads)
        var rows: [RoundOverview.Row] = []
        rows.reserveCapacity(heads.count)
        for (head, entry) in zip(heads, entries) where table.round == nil || entry.content.roundID == table.round {
            rows.append(RoundOverview.Row(id: head.document, content: entry.content, lastChange: entry.lastChange, now: now, calendar: calendar))
        }
        let overview = RoundOverview(rows: rows).sorted(by: table.sort, descending: table.descending)
        if csv {
            let day = (try? CopenhagenTime.localTime(of: now).date.description) ?? "table"
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                                   .contentDisposition: "attachment; filename=\"spor-\(text.say("forslag", "proposals"))-\(day).csv\""],
                            body: .init(byteBuffer: ByteBuffer(string: overview.csv(language: text.language, now: now))))
        }
        let view = WebPages.proposals(overview, request: table, calendar: calendar, now: now, text: text)
        return server.page("proposals", view, title: text.labels.proposalsTitle, text: text, request: request,
                           account: signedIn.account.name, csrf: signedIn.session.csrf)
    }

    /// The cached entry of a proposal `signedIn` may read; nil (answered 404) for one it
    /// may not or that does not exist.
    func readable(_ id: String, by signedIn: SignedIn) async throws -> ProposalCache.Entry? {
        guard !id.isEmpty, id.utf8.count <= SporWebServer.maxDocumentIDBytes else { return nil }
        let standing = try await server.store.standing(of: signedIn.account, on: id)
        guard ProposalPolicy.refusal(of: .read, by: standing) == nil else { return nil }
        return try await server.cache.entry(for: server.store.documentHead(of: id))
    }

    func notFound(_ text: WebText) -> Response {
        server.problem(status: .notFound, text: text, heading: text.say("Forslaget findes ikke", "There is no such proposal"),
                       message: text.say("Der er intet forslag med den adresse, som du har adgang til.",
                                         "There is no proposal at that address that you have access to."),
                       link: ("/proposals", text.labels.back))
    }

    func proposalPage(_ request: Request, id: String) async throws -> Response {
        guard let signedIn = await signedIn(request) else { return toLogin(request) }
        let text = Self.text(for: request)
        guard let entry = try await readable(id, by: signedIn) else { return notFound(text) }
        let roles = try await server.store.memberRoles(of: id)
        let names = Dictionary((try server.store.accounts()).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let calendar = (try? server.store.rounds()) ?? .builtIn
        let view = WebPages.proposal(id: id, entry: entry, roles: roles, names: names, calendar: calendar, now: server.configuration.now(), text: text)
        let title = entry.content.title.trimmingCharacters(in: .whitespacesAndNewlines)
        return server.page("proposal", view, title: title.isEmpty ? text.say("(uden titel)", "(untitled)") : title, text: text,
                           request: request, account: signedIn.account.name, csrf: signedIn.session.csrf)
    }

    func download(_ request: Request, id: String, format: String) async throws -> Response {
        guard let signedIn = await signedIn(request) else { return toLogin(request) }
        let text = Self.text(for: request)
        guard let entry = try await readable(id, by: signedIn) else { return notFound(text) }
        let options = ExportOptions(language: text.language, includeOpenComments: false, includeVersion: true,
                                    now: server.configuration.now(), calendar: (try? server.store.rounds()) ?? .builtIn, proposalID: id)
        let name = Self.fileName(id)
        let (type, ext, bytes): (String, String, ByteBuffer)
        switch format {
        case "html": (type, ext, bytes) = ("text/html; charset=utf-8", "html", ByteBuffer(string: entry.content.html(options)))
        case "markdown": (type, ext, bytes) = ("text/markdown; charset=utf-8", "md", ByteBuffer(string: entry.content.markdown(options)))
        case "docx":
            (type, ext, bytes) = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx",
                                  ByteBuffer(bytes: [UInt8](try entry.content.docx(options))))
        default: return notFound(text)
        }
        return Response(status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(name).\(ext)\""],
                        body: .init(byteBuffer: bytes))
    }

    func languageChange(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        let code = query.get("to") == "en" ? "en" : "da"
        let back = query.get("back").map { String($0) } ?? "/proposals"
        var response = Self.redirect(Self.isLocalPath(back) ? back : "/proposals")
        response.setCookie(cookie(SporWebServer.languageCookie, code, maxAge: 365 * 24 * 3600, path: "/"))
        return response
    }

    func badRequest(_ text: WebText, _ message: String) -> Response {
        server.problem(status: .badRequest, text: text, heading: text.say("Forkert adresse", "Wrong address"), message: message,
                       link: ("/proposals", text.labels.back))
    }

    // MARK: Helpers

    /// The reader's language: English only if asked for (the language link's cookie).
    static func text(for request: Request) -> WebText {
        WebText(language: request.cookies[SporWebServer.languageCookie]?.value == "en" ? .english : .danish)
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// A path on this site ("/proposals?sort=title"), not another site ("//evil",
    /// "https://…", "/\evil").
    static func isLocalPath(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.hasPrefix("//") && !path.contains("\\") && path.utf8.count <= 2048
            && !path.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// False for a form sent from another site: its `Sec-Fetch-Site` (set by every
    /// current browser) or, failing that, an `Origin` whose host is not this `Host`.
    static func isSameSite(_ request: Request) -> Bool {
        if let site = request.headers[.init("Sec-Fetch-Site")!] {
            return site == "same-origin" || site == "none"
        }
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    /// The request's form body, at most ``SporWebServer/maxFormBytes``.
    static func form(_ request: Request) async throws -> String {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: SporWebServer.maxFormBytes)
            return String(buffer: buffer)
        } catch {
            throw HTTPError(.contentTooLarge)
        }
    }

    /// A download's file name from a document id: letters, digits, `.`, `-` and `_`.
    static func fileName(_ id: String) -> String {
        let kept = id.unicodeScalars.map { scalar -> Character in
            let allowed = (scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar))) || "._-".unicodeScalars.contains(scalar)
            return allowed ? Character(scalar) : "_"
        }
        return "spor-" + String(kept.prefix(100))
    }

    func cookie(_ name: String, _ value: String, maxAge: Int, path: String) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: path, secure: server.configuration.secureCookies, httpOnly: true, sameSite: .strict)
    }

    func expired(_ name: String, path: String = "/") -> Cookie {
        Cookie(name: name, value: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: path,
               secure: server.configuration.secureCookies, httpOnly: true, sameSite: .strict)
    }
}
