import ArgumentParser
import Foundation
import SporClient

/// `spor discard ID`: the way out of a change the server refuses for good (a role
/// that no longer allows it, a proposal the server will not create), which holds
/// back every later change to the proposal.
struct Discard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discard",
        abstract: Help.text("Kassér et forslags ikke-synkroniserede ændringer (efter at have gemt en kopi), og hent det igen fra serveren.", "Drop a proposal's changes that have not synced, after saving a copy, and fetch it again from the server."),
        discussion: Help.text("""
            Brug den, når serveren afviser en ændring af forslaget (`spor status ID` \
            siger hvorfor): den afviste ændring og alle senere venter bag den. Forslaget, \
            som dette arbejdsområde har det, gemmes først som Markdown i arbejdsområdets \
            mappe `discarded`; næste `spor sync` henter forslaget igen, som partnerne har \
            det. Et forslag, der aldrig er oprettet på serveren, er væk. Uden --yes siger \
            den kun, hvad den ville kassere.
            """, """
            Use it when the server refuses a change to the proposal (`spor status ID` \
            says why): the refused change and every later one wait behind it. The \
            proposal as this workspace has it is saved as Markdown in the workspace's \
            `discarded` directory first; the next `spor sync` fetches the proposal \
            again as the partners have it. A proposal never created on the server is \
            gone. Without --yes, only says what it would drop.
            """))
    @Argument(help: ArgumentHelp(Help.text("Forslagets id.", "The proposal's id."))) var id: String
    @Flag(help: ArgumentHelp(Help.text("Kassér dem (uden den siges kun, hvad der ville blive kasseret).", "Drop them (without it, only says what would be dropped)."))) var yes = false
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let context = try Context.open()
        let id = try context.proposalID(id)
        let waiting = try context.workspace.outbox().filter { $0.document == id }
        guard !waiting.isEmpty else {
            Output.emit(options, json: { DiscardJSON(id: id, discarded: 0, onServer: nil, savedCopy: nil) },
                        text: { context.language.text("Intet af \(id) venter på at blive synkroniseret: der er intet at kassere.",
                                                      "Nothing of \(id) waits to sync: there is nothing to discard.") })
            return
        }
        guard yes else {
            let refused = waiting.filter { $0.lastError != nil }.count
            throw CommandFailure(
                message: context.language.text(
                    "dette kasserer \(waiting.count) \(waiting.count == 1 ? "ændring" : "ændringer") af \(id), som partnerne ikke har"
                        + (refused > 0 ? " (\(refused) afvist af serveren)" : ""),
                    "this drops \(waiting.count) change\(waiting.count == 1 ? "" : "s") to \(id) that the partners do not have"
                        + (refused > 0 ? " (\(refused) refused by the server)" : "")),
                hint: context.language.text("Kør `spor discard \(id) --yes` for at kassere dem; en kopi af forslaget, som du har det, gemmes først.",
                                            "Run `spor discard \(id) --yes` to drop them; a copy of the proposal as you have it is saved first."),
                name: "needsConfirmation", exitCode: 2)
        }
        let directory = (context.workspace.directory as NSString).appendingPathComponent("discarded")
        let result = try context.workspace.discardUnsyncedChanges(of: id, savingTo: directory, now: context.now)
        Output.emit(options, json: {
            DiscardJSON(id: id, discarded: result.entries, onServer: result.onServer, savedCopy: result.savedCopy)
        }, text: {
            context.language.text(
                "Kasserede \(result.entries) \(result.entries == 1 ? "ændring" : "ændringer") af \(id); din version er gemt i \(result.savedCopy). "
                    + (result.onServer ? "`spor sync` henter forslaget igen, som partnerne har det."
                                       : "Forslaget var aldrig på serveren og er væk fra dette arbejdsområde."),
                "Dropped \(result.entries) change\(result.entries == 1 ? "" : "s") to \(id); your version is saved in \(result.savedCopy). "
                    + (result.onServer ? "`spor sync` fetches the proposal again as the partners have it."
                                       : "The proposal was never on the server and is gone from this workspace."))
        })
    }
}
