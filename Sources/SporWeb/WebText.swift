import Foundation
import SporDocuments
import SporProposal

/// Every word the web pages show, in the reader's language: Danish unless English was
/// asked for (the secretariat's and the municipalities' working language). One value
/// per page render, handed to the templates as `t`.
struct WebText: Sendable {
    let language: ExportOptions.Language
    var isDanish: Bool { language == .danish }
    var code: String { language.rawValue }

    func say(_ danish: String, _ english: String) -> String { isDanish ? danish : english }

    // The labels the templates use by name (Mustache reads stored properties only).
    var labels: Labels { Labels(self) }

    struct Labels: Sendable {
        let appName = "Spor"
        let skipToContent: String
        let loginTitle: String
        let loginIntro: String
        let tokenLabel: String
        let tokenHelp: String
        let loginButton: String
        let logoutButton: String
        let loggedInAs: String
        let otherLanguage: String
        let otherLanguageCode: String
        let proposalsTitle: String
        let downloadCSV: String
        let noProposals: String
        let tableCaption: String
        let sortHint: String
        let back: String
        let processRecord: String
        let members: String
        let role: String
        let organisation: String
        let openComments: String
        let noOpenComments: String
        let downloads: String
        let downloadHTML: String
        let downloadMarkdown: String
        let downloadWord: String
        let submissions: String
        let step: String
        let submittedAt: String
        let submittedBy: String
        let contentHash: String
        let hashCheck: String
        let qualification: String
        let decision: String
        let withdrawal: String
        let none: String
        let rendered: String
        let lastChange: String
        let status: String
        let repliesHeading: String
        let roundFilter: String
        let allRounds: String
        let show: String
        let problems: String

        init(_ t: WebText) {
            skipToContent = t.say("Gå til indholdet", "Skip to content")
            loginTitle = t.say("Log ind", "Log in")
            loginIntro = t.say("Log ind med din organisations nøgle til Spor. Du skal kun gøre det én gang på denne computer; "
                               + "du bliver logget ud efter nogle timer.",
                               "Log in with your organisation's Spor token. You only do it once on this computer; "
                               + "you are logged out after a few hours.")
            tokenLabel = t.say("Nøgle", "Token")
            tokenHelp = t.say("Nøglen begynder med spor_ og står i den besked, sekretariatet sendte jer.",
                              "The token begins with spor_ and is in the message the secretariat sent you.")
            loginButton = t.say("Log ind", "Log in")
            logoutButton = t.say("Log ud", "Log out")
            loggedInAs = t.say("Logget ind som", "Logged in as")
            otherLanguage = t.say("English", "Dansk")
            otherLanguageCode = t.isDanish ? "en" : "da"
            proposalsTitle = t.say("Forslag", "Proposals")
            downloadCSV = t.say("Hent tabellen som CSV (regneark)", "Download the table as CSV (spreadsheet)")
            noProposals = t.say("Der er ingen forslag endnu.", "There are no proposals yet.")
            tableCaption = t.say("Forslag med status, beløb og næste frist", "Proposals with status, amount and next deadline")
            sortHint = t.say("Klik på en kolonneoverskrift for at sortere.", "Select a column heading to sort.")
            back = t.say("Alle forslag", "All proposals")
            processRecord = t.say("Sagsforløb", "Process record")
            members = t.say("Medlemmer og roller", "Members and roles")
            role = t.say("Rolle", "Role")
            organisation = t.say("Organisation", "Organisation")
            openComments = t.say("Åbne kommentarer", "Open comments")
            noOpenComments = t.say("Ingen åbne kommentarer.", "No open comments.")
            downloads = t.say("Hent forslaget", "Download the proposal")
            downloadHTML = t.say("Til udskrift (HTML)", "For printing (HTML)")
            downloadMarkdown = "Markdown"
            downloadWord = "Word (.docx)"
            submissions = t.say("Indsendelser", "Submissions")
            step = t.say("Trin", "Step")
            submittedAt = t.say("Indsendt", "Submitted")
            submittedBy = t.say("Af", "By")
            contentHash = t.say("Indholdets hash", "Content hash")
            hashCheck = t.say("Passer med historikken", "Matches the history")
            qualification = t.say("Kvalificering", "Qualification")
            decision = t.say("Afgørelse", "Decision")
            withdrawal = t.say("Trukket tilbage", "Withdrawn")
            none = "—"
            rendered = t.say("Forslaget", "The proposal")
            lastChange = t.say("Senest ændret", "Last change")
            status = "Status"
            repliesHeading = t.say("Svar", "Replies")
            roundFilter = t.say("Runde", "Round")
            allRounds = t.say("Alle runder", "All rounds")
            show = t.say("Vis", "Show")
            problems = t.say("mangler", "missing")
        }
    }

    /// "3. december 2026 kl. 12.00" / "3 December 2026, 12:00" in Copenhagen time, as
    /// the exports write it.
    func time(_ date: Date) -> String {
        guard let local = try? CopenhagenTime.localTime(of: date) else { return "—" }
        return isDanish ? Wording.danish(local) : Wording.english(local)
    }

    /// "1. oktober 2024 kl. 10:00" / "1 October 2024, 10:00": without the weekday, for
    /// table cells.
    func shortTime(_ date: Date) -> String {
        guard let local = try? CopenhagenTime.localTime(of: date) else { return "—" }
        let clock = String(format: "%02d:%02d", local.hour, local.minute)
        return isDanish ? "\(Wording.danishShort(local.date)) kl. \(clock)" : "\(Wording.englishShort(local.date)), \(clock)"
    }

    func kroner(_ value: Int64) -> String { isDanish ? Wording.kroner(value) : Wording.englishKroner(value) }

    /// "om 3 dage", "i dag", "overskredet for 2 dage siden".
    func days(_ days: Int) -> String {
        switch days {
        case ..<0:
            let ago = -days
            return say("overskredet for \(ago) \(ago == 1 ? "dag" : "dage") siden", "passed \(ago) day\(ago == 1 ? "" : "s") ago")
        case 0: return say("i dag", "today")
        default: return say("om \(days) \(days == 1 ? "dag" : "dage")", "in \(days) day\(days == 1 ? "" : "s")")
        }
    }

    /// "aflevering til …" → "Aflevering til …" (a cell or a row begins with a capital).
    static func capitalised(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

    func name(of status: ProcessStatus) -> String { isDanish ? status.danishName : status.englishName }
    func name(of step: Step) -> String { isDanish ? step.danishName : step.englishName }
    func name(of role: ParticipantRole) -> String { isDanish ? role.danishName : role.englishName }
}
