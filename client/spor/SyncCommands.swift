import ArgumentParser
import Foundation
import SporClient
import SporDocuments
import SporProposal
import SporWire

struct Setup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "setup",
        abstract: Help.text("Forbind dette arbejdsområde med en Spor-server med din organisations nøgle.", "Connect this workspace to a Spor server with your organisation's token."),
        discussion: Help.text("Serveren fortæller, hvilken organisation nøglen tilhører. At sætte op igen (en ny nøgle, en flyttet server) bevarer alt lokalt arbejde.", "The server says which organisation the token belongs to. Setting up again (a new token, a moved server) keeps all local work."))

    @Option(help: ArgumentHelp(Help.text("Serveren, VÆRT:PORT.", "The server, HOST:PORT."))) var server: String
    @Option(help: ArgumentHelp("The organisation's token. Visible to other users in `ps` and kept in shell history: prefer --token-file, or leave both out to be asked for it (or to read it from stdin).",
                               valueName: "token")) var token: String?
    @Option(help: ArgumentHelp("Read the token from this file (`-`: from stdin).", valueName: "file")) var tokenFile: String?
    @Flag(help: ArgumentHelp(Help.text("Forbind med TLS (kræves for en server, der ikke er på denne maskine).", "Connect with TLS (required for a server that is not on this machine)."))) var tls = false
    @Option(help: ArgumentHelp(Help.text("Stol kun på dette CA-certifikat (PEM) til TLS.", "Trust only this CA certificate (PEM) for TLS."))) var caFile: String?
    @Flag(help: ArgumentHelp(Help.text("Forbind uden TLS til en server, der ikke er på denne maskine: nøglen sendes læsbart for alle på vejen.", "Connect without TLS to a server that is not on this machine: the token crosses the network readable to anyone on the way.")))
    var insecure = false
    @OptionGroup var options: GlobalOptions

    /// Hosts the connection never leaves this machine for.
    static func isLoopback(_ host: String) -> Bool {
        ["localhost", "::1", "[::1]"].contains(host.lowercased()) || host.hasPrefix("127.")
    }

    /// The token from --token, --token-file, a prompt (on a terminal, not echoed) or
    /// stdin, without surrounding whitespace.
    func readToken() throws -> String {
        let raw: String
        if let token {
            raw = token
        } else if let tokenFile, tokenFile != "-" {
            do {
                raw = try String(contentsOfFile: tokenFile, encoding: .utf8)
            } catch {
                throw CommandFailure.badInput(Help.text("kan ikke læse nøglefilen \(tokenFile): \(error.localizedDescription)", "cannot read the token file \(tokenFile): \(error.localizedDescription)"))
            }
        } else if tokenFile == nil, isatty(STDIN_FILENO) != 0 {
            guard let typed = getpass("Token for \(server): ") else { throw CommandFailure.badInput(Help.text("ingen nøgle blev givet", "no token was given")) }
            raw = String(cString: typed)
        } else {
            raw = readLine(strippingNewline: true) ?? ""
        }
        return raw.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func run() async throws {
        guard let (host, port) = ServerSettings.parseAddress(server) else {
            throw CommandFailure.badInput(Help.text("\(String(reflecting: server)) er ikke VÆRT:PORT", "\(String(reflecting: server)) is not HOST:PORT"), hint: Help.text("For eksempel --server spor.klimaalliancen.dk:7070.", "For example --server spor.klimaalliancen.dk:7070."))
        }
        guard token == nil || tokenFile == nil else { throw CommandFailure.badInput(Help.text("giv --token eller --token-file, ikke begge", "give --token or --token-file, not both")) }
        let useTLS = tls || caFile != nil
        guard useTLS || insecure || Self.isLoopback(host) else {
            throw CommandFailure.badInput(Help.text("\(host) er ikke på denne maskine: uden TLS ville organisationens nøgle blive sendt ukrypteret over netværket", "\(host) is not on this machine: without TLS the organisation's token would cross the network in clear text"),
                                          hint: Help.text("Tilføj --tls (serverens certifikat tjekkes), eller --insecure, hvis forbindelsen er beskyttet på anden vis.", "Add --tls (the server's certificate is checked), or --insecure if the connection is protected otherwise."))
        }
        let token = try readToken()
        guard !token.isEmpty else { throw CommandFailure.badInput(Help.text("nøglen er tom", "the token is empty")) }
        let context = try Context.open()
        let settings = ServerSettings(host: host, port: port, token: token, tls: useTLS, caFile: caFile)
        let identity = try await SyncEngine.setUp(context.workspace, settings: settings, clientName: SporRelease.name(of: "spor") + " setup")
        Output.emit(options, json: {
            SetupJSON(workspace: context.workspace.directory, server: settings.address, organisation: identity.organisation,
                      organisationName: identity.organisationName, organisationKind: identity.organisationKind, agent: identity.agent.name)
        }, text: {
            Help.text("""
                Arbejdsområdet \(context.workspace.directory) er sat op for \(identity.organisationName) (\(identity.organisation)) på \(settings.address).
                Næste: `spor new "Titel"` starter et forslag, `spor sync` henter din organisations forslag.
                """, """
                Workspace \(context.workspace.directory) is set up for \(identity.organisationName) (\(identity.organisation)) on \(settings.address).
                Next: `spor new "Title"` to start a proposal, or `spor sync` to fetch your organisation's proposals.
                """)
        })
    }
}

struct WhoAmI: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: Help.text("Vis organisationen, serveren og arbejdsområdet.", "Show the organisation, server and workspace."))
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let identity = try context.workspace.identity()
        let server = try context.workspace.serverSettings()
        let outbox = try context.workspace.outbox()
        Output.emit(options, json: {
            WhoAmIJSON(organisation: identity.organisation, organisationName: identity.organisationName,
                       organisationKind: identity.organisationKind, agent: identity.agent.name,
                       server: server?.address, workspace: context.workspace.directory, outbox: outbox.count)
        }, text: {
            context.language.text("""
                \(identity.organisationName) (\(identity.organisation), \(identity.organisationKind))
                server:         \(server?.address ?? "ingen")\(server?.tls == true ? " (TLS)" : "")
                arbejdsområde:  \(context.workspace.directory)
                agent:          \(identity.agent.name)
                udbakke:        \(outbox.count) \(outbox.count == 1 ? "ændring venter" : "ændringer venter") på at blive synkroniseret
                """, """
                \(identity.organisationName) (\(identity.organisation), \(identity.organisationKind))
                server:    \(server?.address ?? "none")\(server?.tls == true ? " (TLS)" : "")
                workspace: \(context.workspace.directory)
                agent:     \(identity.agent.name)
                outbox:    \(outbox.count) change\(outbox.count == 1 ? "" : "s") waiting to sync
                """)
        })
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: Help.text("Udveksl ændringer med serveren.", "Exchange changes with the server."),
        discussion: Help.text("""
            Henter det, partnerne har ændret, og sender udbakken. Med --watch forbliver den \
            forbundet, sender lokale ændringer, når de gemmes, og kobler til igen (med \
            stigende ventetid), når forbindelsen ryger, indtil den afbrydes.
            """, """
            Fetches what partners changed and sends the outbox. With --watch, stays connected, \
            sends local changes as they are saved and reconnects (with backoff) when the \
            connection drops, until interrupted.
            """))

    @Flag(help: ArgumentHelp(Help.text("Bliv ved med at synkronisere, indtil den afbrydes.", "Keep syncing until interrupted."))) var watch = false
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let context = try Context.open()
        _ = try context.workspace.identity()
        let lock = try SyncLock(workspace: context.workspace)
        defer { withExtendedLifetime(lock) {} }
        let engine = SyncEngine(workspace: context.workspace, clientName: SporRelease.name(of: "spor"))
        let display = ProgressDisplay(enabled: !options.json && isatty(STDERR_FILENO) == 1)
        if watch {
            let json = options.json
            try await engine.watch(progress: display.update, onCaughtUp: { report in
                display.finish()
                Self.print(report, json: json, language: context.language)
            }, onActivity: { activity in
                let time = Output.local(Date()).suffix(5)
                switch activity {
                case let .received(document, events):
                    Output.emit(GlobalOptions.json(json), json: { WatchJSON(received: document, sent: nil, events: events) },
                                text: { "\(time) " + context.language.text("modtog \(events) \(events == 1 ? "hændelse" : "hændelser") i \(document)",
                                                                 "received \(events) event\(events == 1 ? "" : "s") in \(document)") })
                case let .sent(document, events):
                    Output.emit(GlobalOptions.json(json), json: { WatchJSON(received: nil, sent: document, events: events) },
                                text: { "\(time) " + context.language.text("sendte \(events) \(events == 1 ? "hændelse" : "hændelser") af \(document)",
                                                                 "sent \(events) event\(events == 1 ? "" : "s") of \(document)") })
                }
            }, onRetry: { error, delay in
                display.finish()
                let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
                FileHandle.standardError.write(Data(("spor: \(error.message); " + context.language.text("prøver igen om \(String(format: "%.1f", seconds).replacingOccurrences(of: ".", with: ",")) s",
                                                                                        "retrying in \(String(format: "%.1f", seconds)) s") + "\n").utf8))
            })
            return
        }
        let report: SyncReport
        let before = options.json ? nil : SyncArrivals.snapshot(context.workspace)
        do {
            report = try await engine.sync(progress: display.update)
        } catch {
            display.finish()
            throw error
        }
        display.finish()
        Self.print(report, json: options.json, language: context.language)
        if let before, let own = try? context.workspace.identity().organisation {
            let changed = Set(report.receivedEvents.keys).union(report.newDocuments)
            let arrivals = SyncArrivals.lines(before: before, after: SyncArrivals.snapshot(context.workspace, only: changed), own: own,
                                              language: context.language)
            if !arrivals.isEmpty { Swift.print(arrivals.joined(separator: "\n")) }
        }
        if !report.refusals.isEmpty {
            throw CommandFailure(message: Help.text("serveren afviste \(report.refusals.count) \(report.refusals.count == 1 ? "ændring" : "ændringer"); de bliver i udbakken", "the server refused \(report.refusals.count) change\(report.refusals.count == 1 ? "" : "s"); they stay in the outbox"),
                                 hint: Help.text("`spor status ID` viser hvorfor.", "`spor status ID` shows why."), name: "refused", exitCode: 3)
        }
    }

    static func print(_ report: SyncReport, json: Bool, language: Language = .english) {
        Output.emit(GlobalOptions.json(json), json: { SyncJSON(report) }, text: {
            var lines: [String] = []
            let received = report.totalReceivedEvents, proposals = report.receivedEvents.count, sent = report.pushedChanges
            let new = report.newDocuments.isEmpty ? ""
                : language.text(report.newDocuments.count == 1 ? " (1 nyt: " : " (\(report.newDocuments.count) nye: ",
                                " (\(report.newDocuments.count) new: ")
                    + report.newDocuments.sorted().joined(separator: ", ") + ")"
            lines.append(language.text(
                "Modtog \(received) \(received == 1 ? "hændelse" : "hændelser") i \(proposals) forslag\(new); "
                    + "sendte \(sent) \(sent == 1 ? "ændring" : "ændringer").",
                "Received \(received) event\(received == 1 ? "" : "s") in \(proposals) proposal\(proposals == 1 ? "" : "s")\(new); "
                    + "sent \(sent) change\(sent == 1 ? "" : "s")."))
            for created in report.createdOnServer.sorted() {
                lines.append(language.text("Oprettede \(created) på serveren.", "Created \(created) on the server."))
            }
            for renamed in report.renamed {
                lines.append(language.text("Forslaget \(renamed.from) hedder nu \(renamed.to) (nye id'er begynder med din organisations id).",
                                           "Proposal \(renamed.from) is now \(renamed.to) (new ids start with your organisation's id)."))
            }
            for change in report.membershipChanges {
                lines.append(language.text("Serveren gjorde dette i \(change.document): \(MembershipChange.describe(change.change, in: .danish)).",
                                           "The server did this in \(change.document): \(MembershipChange.describe(change.change))."))
            }
            for step in report.recordedSteps {
                lines.append(language.text("Serveren registrerede \(step.kind.rawValue) af \(step.document) \(Output.local(step.at))"
                                               + (step.contentHash.isEmpty ? "." : "; indholdshash \(step.contentHash.prefix(16))…"),
                                           "The server recorded \(step.kind.rawValue) of \(step.document) at \(Output.local(step.at))"
                                               + (step.contentHash.isEmpty ? "." : "; content hash \(step.contentHash.prefix(16))…")))
            }
            for document in report.accessEnded.sorted() {
                lines.append(language.text("\(document) deles ikke længere med din organisation; din lokale kopi bliver.",
                                           "\(document) is no longer shared with your organisation; your local copy stays."))
            }
            for fork in report.forks {
                // Said plainly: the user copied or restored the workspace, and both copies wrote.
                if fork.divergedAt == nil {
                    lines.append(language.text(
                        "Dette arbejdsområde er en kopi af et andet eller en genskabt sikkerhedskopi: serveren har senere ændringer til "
                            + "\(fork.document) lavet under dets navn (\(fork.agent)). Intet gik tabt; fra nu af skriver det "
                            + "som \(fork.newAgent), så de to kopier ikke blandes.",
                        "This workspace is a copy of another one, or a restored backup: the server has later changes to "
                            + "\(fork.document) made under its name (\(fork.agent)). Nothing was lost; from now on it writes "
                            + "as \(fork.newAgent), so the two copies no longer mix."))
                } else {
                    lines.append(language.text(
                        "Dette arbejdsområde er en kopi af et andet eller en genskabt sikkerhedskopi: serveren har andre ændringer til "
                            + "\(fork.document) lavet under dets navn (\(fork.agent)). Arbejdsområdets egne \(fork.reissuedEvents) "
                            + "\(fork.reissuedEvents == 1 ? "hændelse blev" : "hændelser blev") lavet igen som \(fork.newAgent) og sendt, "
                            + "så partnerne får begge kopiers tekst.",
                        "This workspace is a copy of another one, or a restored backup: the server has other changes to "
                            + "\(fork.document) made under its name (\(fork.agent)). This workspace's own \(fork.reissuedEvents) "
                            + "edit event\(fork.reissuedEvents == 1 ? " was" : "s were") made again as \(fork.newAgent) and sent, "
                            + "so the partners get both copies' text."))
                }
                for step in fork.droppedSteps {
                    lines.append(language.text(
                        "Ikke sendt: \(step.activity) af \(fork.document), sat i kø i dette arbejdsområde. Den version, den "
                            + "nævnte, blev lavet igen under det nye navn; tjek forslaget (`spor show \(fork.document)`), "
                            + "og gør det igen.",
                        "Not sent: \(step.activity) of \(fork.document), queued in this workspace. The version it "
                            + "named was made again under the new name; check the proposal (`spor show \(fork.document)`) "
                            + "and do it again."))
                }
            }
            for round in report.skippedRounds {
                lines.append(language.text("Udeladt: en runde, serveren offentliggør, som dette arbejdsområde ikke kan læse: \(round). "
                                               + "Alt andet blev synkroniseret; sig det til sekretariatet.",
                                           "Left out a round the server publishes that this workspace cannot read: \(round). "
                                               + "Everything else synced; tell the secretariat."))
            }
            for refusal in report.refusals { lines.append(language.text("Afvist: ", "Refused: ") + refusal.message) }
            let waiting = report.outboxRemaining
            lines.append(waiting <= 0 ? language.text("Alt er synkroniseret.", "Everything is synced.")
                : waiting == 1 ? language.text("1 ændring er stadig i udbakken.", "1 change still in the outbox.")
                : language.text("\(waiting) ændringer er stadig i udbakken.", "\(waiting) changes still in the outbox."))
            return lines.joined(separator: "\n")
        })
    }
}

extension GlobalOptions {
    static func json(_ value: Bool) -> GlobalOptions {
        var options = GlobalOptions()
        options.json = value
        return options
    }
}

/// A one-line progress display on stderr for long catch-ups, redrawn at most ten
/// times a second; only on a terminal.
final class ProgressDisplay: Sendable {
    private let enabled: Bool
    private let state = LockedState()

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: SyncProgress) {
        guard enabled, state.shouldDraw() else { return }
        var line = "syncing: \(progress.documentsCaughtUp)/\(progress.documents) proposals"
        if progress.eventsExpected > 1000 {
            let percent = min(100, progress.eventsReceived * 100 / max(1, progress.eventsExpected))
            let filled = percent / 5
            line += " [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: 20 - filled))] \(percent)%"
        }
        line += " \(progress.eventsReceived) events"
        if progress.changesPushed > 0 { line += ", \(progress.changesPushed) sent" }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }

    func finish() {
        guard enabled, state.drewSomething() else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    /// `@unchecked Sendable`: both fields are only touched under `lock`.
    private final class LockedState: @unchecked Sendable {
        private let lock = NSLock()
        private var lastDraw = ContinuousClock.now - .seconds(1)
        private var drew = false

        func shouldDraw() -> Bool {
            lock.withLock {
                let now = ContinuousClock.now
                guard now - lastDraw >= .milliseconds(100) else { return false }
                lastDraw = now
                drew = true
                return true
            }
        }

        func drewSomething() -> Bool { lock.withLock { drew } }
    }
}
