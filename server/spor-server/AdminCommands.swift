import ArgumentParser
import Foundation
import SporProposal
import SporServer

extension AccountKind: ExpressibleByArgument {}

struct Org: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organisations (accounts) and their access tokens.",
        subcommands: [Add.self, List.self, Revoke.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an organisation and print its access token once (alone on the last line)."
        )
        @OptionGroup var data: DataOptions
        @Argument(help: "The organisation's name, e.g. \"Aarhus Kommune\".") var name: String
        @Option(help: "kommune, region, company, association, institution or secretariat.") var kind: AccountKind
        @Option(help: "Municipality/region code (becomes the organisation's id).") var code: String?
        @Flag(help: "Print a JSON object instead.") var json = false

        func run() throws {
            let store = try reportingFailures { try data.openStore() }
            let (account, token) = try reportingFailures { try store.addAccount(name: name, kind: kind, code: code) }
            if json {
                try printJSON(AddedAccount(organisation: account, token: token))
            } else {
                print("Added \(account.name) (\(account.kind.rawValue)) as \(account.id). Its token, shown only now:")
                print(token)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations.")
        @OptionGroup var data: DataOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let store = try reportingFailures { try data.openStore() }
            let accounts = try reportingFailures { try store.accounts() }
            if json { return try printJSON(accounts) }
            for account in accounts {
                let status = account.isRevoked ? "revoked" : "active"
                print([account.id, account.kind.rawValue, status, account.name].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an organisation's token; its connections are refused.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The organisation's id.") var id: String

        func run() throws {
            let store = try reportingFailures { try data.openStore() }
            try reportingFailures { try store.revoke(id: id) }
            print("Revoked the token of \(id). `spor-server token rotate \(id)` issues a new one.")
        }
    }
}

struct AddedAccount: Encodable {
    let organisation: Account
    let token: String
}

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage access tokens.", subcommands: [Rotate.self])

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace an organisation's token (the old one stops working) and print the new one once."
        )
        @OptionGroup var data: DataOptions
        @Argument(help: "The organisation's id.") var id: String
        @Flag(help: "Print a JSON object instead.") var json = false

        func run() throws {
            let store = try reportingFailures { try data.openStore() }
            let token = try reportingFailures { try store.rotateToken(id: id) }
            let account = try reportingFailures { try store.account(id: id) }
            if json {
                try printJSON(AddedAccount(organisation: account, token: token))
            } else {
                print("New token for \(id), shown only now:")
                print(token)
            }
        }
    }
}

struct RoundCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "round",
        abstract: "The process rounds and their deadlines (Europe/Copenhagen time).",
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a round.")
        @OptionGroup var data: DataOptions
        @Option(help: "Round id, e.g. 2025-spring.") var id: String
        @Option(help: "Danish name.") var danishName: String
        @Option(help: "English name.") var englishName: String
        @Option(help: "When the round opens, YYYY-MM-DD HH:MM.") var opens: String?
        @Option(help: "Deadline for professional qualification, YYYY-MM-DD HH:MM.") var qualificationDeadline: String
        @Option(help: "Deadline for the approval process, YYYY-MM-DD HH:MM.") var approvalDeadline: String
        @Option(help: "The executive committee's meeting day, YYYY-MM-DD.") var committeeMeeting: String

        func run() throws {
            let store = try reportingFailures { try data.openStore() }
            try reportingFailures {
                let round = Round(
                    id: id, danishName: danishName, englishName: englishName,
                    opens: try opens.map { try LocalDateTime(parsing: $0, field: "opens") },
                    qualificationDeadline: try LocalDateTime(parsing: qualificationDeadline, field: "qualification-deadline"),
                    approvalDeadline: try LocalDateTime(parsing: approvalDeadline, field: "approval-deadline"),
                    committeeMeeting: try CalendarDate(parsing: committeeMeeting, field: "committee-meeting"))
                try store.addRound(round)
            }
            print("Added round \(id).")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a round added on this server (built-in rounds stay).",
            discussion: "Proposals for the round keep it as their round; they can no longer be submitted until they name another.")
        @OptionGroup var data: DataOptions
        @Option(help: "Round id.") var id: String

        func run() throws {
            let store = try reportingFailures { try data.openStore() }
            try reportingFailures { try store.removeRound(id: id) }
            print("Removed round \(id). Clients drop it at their next sync.")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List rounds, built-in ones first, then any stored round clients cannot read.")
        @OptionGroup var data: DataOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let store = try reportingFailures { try data.openStore() }
            let (calendar, unreadable) = try reportingFailures { try store.storedRounds() }
            // Rounds clients cannot read go to stderr, so stdout keeps its shape.
            for round in unreadable {
                FileHandle.standardError.write(Data(("round \(round.id) cannot be read and is left out for clients: \(round.problem). "
                    + "Remove it with `spor-server round remove --id \(round.id)` and add it again.\n").utf8))
            }
            if json { return try printJSON(calendar.rounds) }
            for round in calendar.rounds {
                print([round.id, "qualification \(round.qualificationDeadline)", "approval \(round.approvalDeadline)",
                       "committee \(round.committeeMeeting)", round.englishName].joined(separator: "\t"))
            }
        }
    }
}
