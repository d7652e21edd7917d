import Crypto
import Foundation
import GRDB
import SporCRDT
import SporProposal
import SporWire

/// The server's durable state in one SQLite database (`DIR/spor.sqlite`, WAL,
/// `synchronous=FULL`): accounts with hashed tokens, documents and their members,
/// the stored change batches of every document, each document's version vector,
/// and the process rounds.
///
/// Writes that change what a document holds go through ``PushCommitter`` only, so
/// that version vectors, batch order and relay order agree. Admin commands write
/// accounts and rounds directly; SQLite serialises them with the server's writes.
///
/// Durability: a change batch is acknowledged only after the transaction storing it
/// has committed with `synchronous=FULL`, i.e. after the WAL was fsynced.
public final class SporStore: Sendable {
    let pool: DatabasePool
    public let path: String

    /// Opens (creating if needed) the store in `directory` and brings its schema up
    /// to date. Throws if the directory cannot be created or the file is not a Spor
    /// database.
    ///
    /// The store holds every proposal and the token hashes: the directory is made (or
    /// made again) 0700 and the database, WAL and shared-memory files 0600, whoever
    /// created them and whatever the umask.
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        chmod(directory, 0o700)
        path = (directory as NSString).appendingPathComponent("spor.sqlite")
        // Created owner-only before SQLite opens it: SQLite gives the -wal and -shm
        // files it creates the database file's mode.
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
        chmod(path, 0o600)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: configuration)
        for file in [path + "-wal", path + "-shm"] { chmod(file, 0o600) }
        // Every commit fsyncs the WAL before it returns, so an acknowledged push
        // survives a power cut, not only a crash. Set on the writer after opening:
        // GRDB switches a new pool's writer to WAL with `synchronous = NORMAL` after
        // `prepareDatabase` has run, which silently undid it there (bug 14).
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE account (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL,
                    code TEXT UNIQUE,
                    tokenHash BLOB NOT NULL UNIQUE,
                    createdAt DATETIME NOT NULL,
                    revokedAt DATETIME
                );
                CREATE TABLE document (
                    id TEXT PRIMARY KEY,
                    createdBy TEXT NOT NULL REFERENCES account(id),
                    createdAt DATETIME NOT NULL,
                    eventCount INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE member (
                    documentID TEXT NOT NULL REFERENCES document(id),
                    accountID TEXT NOT NULL REFERENCES account(id),
                    addedBy TEXT NOT NULL,
                    addedAt DATETIME NOT NULL,
                    PRIMARY KEY (documentID, accountID)
                ) WITHOUT ROWID;
                CREATE INDEX member_by_account ON member(accountID);
                CREATE TABLE batch (
                    id INTEGER PRIMARY KEY,
                    documentID TEXT NOT NULL REFERENCES document(id),
                    changes BLOB NOT NULL,
                    eventCount INTEGER NOT NULL,
                    ranges TEXT NOT NULL,
                    accountID TEXT NOT NULL,
                    storedAt DATETIME NOT NULL
                );
                CREATE INDEX batch_by_document ON batch(documentID, id);
                CREATE TABLE documentAgent (
                    documentID TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    nextSeq INTEGER NOT NULL,
                    PRIMARY KEY (documentID, agent)
                ) WITHOUT ROWID;
                CREATE TABLE round (
                    id TEXT PRIMARY KEY,
                    json TEXT NOT NULL
                );
                """)
        }
        // Protocol 2: members have roles and need no account yet (adding an
        // organisation says nothing about whether it has one). A document's creator
        // becomes its lead; every other member a partner. The server writes the same
        // into each document's members map when it starts (`backfillMembers`).
        migrator.registerMigration("v2-membership-roles") { db in
            try db.execute(sql: """
                CREATE TABLE membership (
                    documentID TEXT NOT NULL REFERENCES document(id),
                    organisation TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('lead', 'partner', 'observer')),
                    addedBy TEXT NOT NULL,
                    addedAt DATETIME NOT NULL,
                    PRIMARY KEY (documentID, organisation)
                ) WITHOUT ROWID;
                CREATE INDEX membership_by_organisation ON membership(organisation);
                INSERT INTO membership (documentID, organisation, role, addedBy, addedAt)
                    SELECT m.documentID, m.accountID, CASE WHEN m.accountID = d.createdBy THEN 'lead' ELSE 'partner' END,
                           m.addedBy, m.addedAt
                    FROM member m JOIN document d ON d.id = m.documentID;
                DROP TABLE member;
                """)
        }
        // Digests of every agent's stored events, so that a copied or restored
        // workspace's different events under the same ids are refused, not taken as
        // duplicates (``AgentSpans``).
        migrator.registerMigration("v3-agent-spans") { db in
            try db.execute(sql: AgentSpans.createTable)
            try AgentSpans.backfill(db)
        }
        // Admin actions and the secretariat's steps (``AuditEntry``).
        migrator.registerMigration("v4-audit") { db in
            try db.execute(sql: AuditEntry.createTable)
        }
        // Webhook deliveries waiting or done (``WebhookDelivery``).
        migrator.registerMigration("v5-webhooks") { db in
            try db.execute(sql: WebhookDelivery.createTable)
        }
        // The server's document files of its documents (``DocumentCheckpoints``): none
        // at first, each written when a replica is next rebuilt or first sent whole.
        migrator.registerMigration("v6-checkpoints") { db in
            try db.execute(sql: DocumentCheckpoints.createTable)
        }
        return migrator
    }

    /// Reads a page of the store: throws when the database does not answer (`/readyz`).
    public func checkReadable() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT 1 FROM account LIMIT 1)") }
    }

    // MARK: Accounts

    /// Creates an account and returns it with its access token — the only time the
    /// token exists in clear. Throws `alreadyExists` for a taken name or code and
    /// `invalidArgument` for an empty name, a code that is not a valid id, or a
    /// municipality/region code that is not in the reference data with that kind.
    /// Recorded in the audit log as done by `actor`.
    public func addAccount(name: String, kind: AccountKind, code: String? = nil, now: Date = Date(),
                           by actor: String = AuditEntry.localAdministrator) throws -> (Account, token: String) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 200, !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ServerError(.invalidArgument, "organisation name must be 1-200 characters without control characters")
        }
        // No dot: an organisation's proposals have ids "<id>.<rest>", and with dots in
        // ids one organisation's namespace could contain another's.
        if let code, !(SporProtocol.isValidName(code) && code.utf8.count <= 32 && !code.contains(".")) {
            throw ServerError(.invalidArgument, "code \(String(reflecting: code)) must be 1-32 letters, digits, '-' or '_'")
        }
        var code = code
        if code == nil, kind == .kommune || kind == .region {
            // Municipalities and regions always carry their official code: it is their
            // id, and participants name them by it.
            guard let registered = Organisation.lookup(trimmed), registered.kind.rawValue == kind.rawValue else {
                throw ServerError(.invalidArgument, "\(String(reflecting: trimmed)) is not a \(kind.rawValue) in the reference data: "
                                  + "give its official name (\"Vejle Kommune\") or --code (0101-0860, regions 1081-1085)")
            }
            code = registered.code
        }
        if let code, kind == .kommune || kind == .region {
            guard let registered = Organisation.withCode(code), registered.kind.rawValue == kind.rawValue else {
                throw ServerError(.invalidArgument, "\(code) is not the code of a \(kind.rawValue) in the reference data "
                                  + "(municipalities 0101-0860, regions 1081-1085, as in organisations.csv)")
            }
        }
        let token = Self.newToken()
        let account = try pool.write { db -> Account in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM account WHERE name = ?", arguments: [trimmed]) == true {
                throw ServerError(.alreadyExists, "an organisation named \(String(reflecting: trimmed)) already exists")
            }
            if let code, try Bool.fetchOne(db, sql: "SELECT 1 FROM account WHERE code = ? OR id = ?", arguments: [code, code]) == true {
                throw ServerError(.alreadyExists, "an organisation with code \(code) already exists")
            }
            var id = code ?? Self.defaultID(name: trimmed, kind: kind)
            if code == nil {
                let base = id
                var suffix = 2
                while try Bool.fetchOne(db, sql: "SELECT 1 FROM account WHERE id = ?", arguments: [id]) == true {
                    id = "\(base)-\(suffix)"
                    suffix += 1
                }
            }
            try db.execute(
                sql: "INSERT INTO account (id, name, kind, code, tokenHash, createdAt) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, trimmed, kind.rawValue, code, Self.hash(token), now])
            try AuditEntry(at: now, actor: actor, action: .organisationAdded, subject: id, detail: "\(trimmed) (\(kind.rawValue))").insert(db)
            return Account(id: id, name: trimmed, kind: kind, code: code, createdAt: now, revokedAt: nil)
        }
        return (account, token)
    }

    static func defaultID(name: String, kind: AccountKind) -> String {
        let slug = Account.slug(of: name)
        if !slug.isEmpty { return slug }
        return kind == .secretariat ? "secretariat" : kind.rawValue
    }

    /// Every account, oldest first.
    public func accounts() throws -> [Account] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM account ORDER BY createdAt, id").map(Self.account(from:))
        }
    }

    /// The account `id`, or `notFound`.
    public func account(id: String) throws -> Account {
        try pool.read { db in try Self.requireAccount(id, db) }
    }

    /// The live (not revoked) account holding `token`, nil if there is none.
    public func account(forToken token: String) async throws -> Account? {
        try await liveAccount(tokenHash: Self.hash(token))
    }

    /// Every live (not revoked) account by the hash of its token (``hash(_:)``).
    func liveAccountsByTokenHash() async throws -> [Data: Account] {
        try await pool.read { db in
            var accounts: [Data: Account] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM account WHERE revokedAt IS NULL") {
                accounts[row["tokenHash"]] = try Self.account(from: row)
            }
            return accounts
        }
    }

    /// Revokes `id`'s token: it authenticates no more, open connections are refused
    /// at their next request. The account and its documents stay.
    public func revoke(id: String, now: Date = Date(), by actor: String = AuditEntry.localAdministrator) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE account SET revokedAt = ? WHERE id = ? AND revokedAt IS NULL", arguments: [now, id])
            if db.changesCount == 0 {
                _ = try Self.requireAccount(id, db)
                throw ServerError(.invalidArgument, "organisation \(id) is already revoked")
            }
            try AuditEntry(at: now, actor: actor, action: .tokenRevoked, subject: id).insert(db)
        }
    }

    /// Replaces `id`'s token (reinstating a revoked account) and returns the new one.
    public func rotateToken(id: String, now: Date = Date(), by actor: String = AuditEntry.localAdministrator) throws -> String {
        let token = Self.newToken()
        try pool.write { db in
            let account = try Self.requireAccount(id, db)
            try db.execute(sql: "UPDATE account SET tokenHash = ?, revokedAt = NULL WHERE id = ?", arguments: [Self.hash(token), id])
            try AuditEntry(at: now, actor: actor, action: .tokenRotated, subject: id,
                           detail: account.revokedAt == nil ? "" : "reinstated").insert(db)
        }
        return token
    }

    /// Whether any secretariat account exists.
    public func hasSecretariat() throws -> Bool {
        try pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM account WHERE kind = ?", arguments: [AccountKind.secretariat.rawValue]) == true
        }
    }

    static func requireAccount(_ id: String, _ db: Database) throws -> Account {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = ?", arguments: [id]) else {
            throw ServerError(.notFound, "no organisation with id \(String(reflecting: id))")
        }
        return try account(from: row)
    }

    static func account(from row: Row) throws -> Account {
        let kindName: String = row["kind"]
        guard let kind = AccountKind(rawValue: kindName) else {
            throw ServerError(.internalError, "stored organisation has unknown kind \(kindName)")
        }
        return Account(id: row["id"], name: row["name"], kind: kind, code: row["code"],
                       createdAt: row["createdAt"], revokedAt: row["revokedAt"])
    }

    /// A new token: "spor_" and 32 random bytes in base64url (256 bits).
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "spor_" + base64
    }

    /// Tokens are stored only as their SHA-256.
    static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }

    // MARK: Rounds

    /// A round stored on this server that no client could read (an older server
    /// accepted it): left out of the calendar everywhere, and listed by `round list`
    /// so the secretariat can remove it.
    public struct UnreadableRound: Sendable, Hashable {
        public let id: String
        public let problem: String
    }

    /// The built-in rounds followed by those added on this server, and the stored
    /// rounds left out because they cannot be read. One bad round never stops the
    /// others, process steps, or anyone's sync.
    public func storedRounds() throws -> (calendar: RoundCalendar, unreadable: [UnreadableRound]) {
        let stored = try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, json FROM round ORDER BY rowid").map { ($0["id"] as String, $0["json"] as String) }
        }
        return Self.calendar(of: stored)
    }

    /// The built-in rounds followed by the readable rounds added on this server.
    public func rounds() throws -> RoundCalendar { try storedRounds().calendar }

    static func calendar(of stored: [(id: String, json: String)]) -> (calendar: RoundCalendar, unreadable: [UnreadableRound]) {
        var calendar = RoundCalendar.builtIn
        var unreadable: [UnreadableRound] = []
        for (id, json) in stored {
            do {
                let round = try JSONDecoder().decode(Round.self, from: Data(json.utf8))
                if let problem = wireProblem(of: round) { throw ServerError(.invalidArgument, problem) }
                try calendar.add(round)
            } catch {
                unreadable.append(UnreadableRound(id: id, problem: (error as? ServerError)?.message ?? "\(error)"))
            }
        }
        return (calendar, unreadable)
    }

    /// The calendar as LIST_ROUNDS answers it: built-in rounds, then those added here,
    /// in calendar order, without unreadable ones. Read off the caller's thread.
    public func roundEntries() async throws -> [SporMessage.RoundEntry] {
        let stored = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, json FROM round ORDER BY rowid").map { ($0["id"] as String, $0["json"] as String) }
        }
        return Self.calendar(of: stored).calendar.rounds.map { round in
            SporMessage.RoundEntry(id: round.id, danishName: round.danishName, englishName: round.englishName,
                                   opens: round.opens?.description ?? "",
                                   qualificationDeadline: round.qualificationDeadline.description,
                                   approvalDeadline: round.approvalDeadline.description,
                                   committeeMeeting: round.committeeMeeting.description)
        }
    }

    /// Why `round` cannot be sent to clients in ROUNDS (the protocol's limits), nil
    /// if it can: checked at `round add`, and stored rounds that fail it (added by an
    /// older server) are left out of ROUNDS, so one bad round never breaks anyone's sync.
    static func wireProblem(of round: Round) -> String? {
        guard SporProtocol.isValidName(round.id) else {
            return "round id \(String(reflecting: round.id)) must be 1-64 letters, digits, '-', '_' or '.' (e.g. 2028-spring)"
        }
        for (field, name) in [("Danish name", round.danishName), ("English name", round.englishName)] {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, name.utf8.count <= SporProtocol.maxTextBytes,
                  !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                return "the round's \(field) must be 1-\(SporProtocol.maxTextBytes) bytes without control characters"
            }
        }
        return nil
    }

    /// Removes round `id` added on this server; built-in rounds cannot be removed.
    public func removeRound(id: String, now: Date = Date(), by actor: String = AuditEntry.localAdministrator) throws {
        try pool.write { db in
            // A stored row goes whatever it holds (also an unreadable one under a
            // built-in id); the built-in rounds themselves stay.
            try db.execute(sql: "DELETE FROM round WHERE id = ?", arguments: [id])
            guard db.changesCount == 0 else {
                return try AuditEntry(at: now, actor: actor, action: .roundRemoved, subject: id).insert(db)
            }
            if RoundCalendar.builtIn.rounds.contains(where: { $0.id == id }) {
                throw ServerError(.invalidArgument, "\(id) is a built-in round; it cannot be removed")
            }
            throw ServerError(.notFound, "no round \(String(reflecting: id)) was added on this server")
        }
    }

    /// Adds a round after checking it against the others (``RoundCalendar/add(_:)``)
    /// and against what clients can read (``wireProblem(of:)``).
    public func addRound(_ round: Round, now: Date = Date(), by actor: String = AuditEntry.localAdministrator) throws {
        if let problem = Self.wireProblem(of: round) { throw ServerError(.invalidArgument, problem) }
        var calendar = try rounds()
        try calendar.add(round)
        let json = String(decoding: try JSONEncoder().encode(round), as: UTF8.self)
        try pool.write { db in
            try db.execute(sql: "INSERT INTO round (id, json) VALUES (?, ?)", arguments: [round.id, json])
            try AuditEntry(at: now, actor: actor, action: .roundAdded, subject: round.id, detail: round.danishName).insert(db)
        }
    }

    // MARK: Documents

    /// `account`'s standing on `document`: the secretariat (on an existing document),
    /// a member with its role, or an outsider — also for an unknown document, so that
    /// the two look the same.
    public func standing(of account: Account, on document: String) async throws -> ProposalPolicy.Standing {
        try await pool.read { db in try Self.standing(of: account, on: document, db) }
    }

    static func standing(of account: Account, on document: String, _ db: Database) throws -> ProposalPolicy.Standing {
        if account.isSecretariat {
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM document WHERE id = ?", arguments: [document]) == true
            return exists ? .secretariat : .outsider
        }
        let role = try String.fetchOne(db, sql: "SELECT role FROM membership WHERE documentID = ? AND organisation = ?",
                                       arguments: [document, account.id])
        return role.flatMap(ParticipantRole.init(rawValue:)).map { .member($0) } ?? .outsider
    }

    /// Whether `account` may read `document` (a member or the secretariat).
    public func canAccess(document: String, account: Account) async throws -> Bool {
        try await standing(of: account, on: document) != .outsider
    }

    /// The members of `document` with their roles.
    public func memberRoles(of document: String) async throws -> [String: ParticipantRole] {
        try await pool.read { db in try Self.memberRoles(of: document, db) }
    }

    static func memberRoles(of document: String, _ db: Database) throws -> [String: ParticipantRole] {
        var roles: [String: ParticipantRole] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT organisation, role FROM membership WHERE documentID = ?", arguments: [document]) {
            if let role = ParticipantRole(rawValue: row["role"]) { roles[row["organisation"]] = role }
        }
        return roles
    }

    /// Documents with members but none of the server's own events: made before the
    /// server wrote its members map (protocol 1).
    func documentsWithoutServerEvents() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT d.id FROM document d WHERE NOT EXISTS (
                    SELECT 1 FROM documentAgent a WHERE a.documentID = d.id AND a.agent = ?) ORDER BY d.id
                """, arguments: [ProposalSchema.serverAgent.name])
        }
    }

    /// The documents `account` can see with their event counts, by id.
    public func documents(visibleTo account: Account) async throws -> [SporMessage.DocumentEntry] {
        try await pool.read { db in
            let rows = account.isSecretariat
                ? try Row.fetchAll(db, sql: "SELECT id, eventCount FROM document ORDER BY id")
                : try Row.fetchAll(db, sql: """
                    SELECT d.id, d.eventCount FROM document d JOIN membership m ON m.documentID = d.id
                    WHERE m.organisation = ? ORDER BY d.id
                    """, arguments: [account.id])
            return rows.map { SporMessage.DocumentEntry(document: $0["id"], events: $0["eventCount"]) }
        }
    }

    /// The members of `document`, by id.
    public func members(of document: String) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT organisation FROM membership WHERE documentID = ? ORDER BY organisation", arguments: [document])
        }
    }

    /// One step of a catch-up: scans stored batches of `document` with ids in
    /// `after+1 ... through` in order and returns those a replica at `vector` lacks,
    /// up to `maxBytes` of them (at least one) or `maxScanned` rows, with the id of
    /// the last row scanned and the event ranges of every scanned row. Batches the
    /// replica has are skipped without reading their bytes.
    func catchUpStep(of document: String, after: Int64, through: Int64, lacking vector: [String: Int],
                     maxBytes: Int, maxScanned: Int = 20_000) async throws -> CatchUpStep {
        try await pool.read { db in
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT id, ranges, changes, storedAt FROM batch WHERE documentID = ? AND id > ? AND id <= ? ORDER BY id
                """, arguments: [document, after, through])
            var step = CatchUpStep(lastScanned: after)
            var bytes = 0
            var scanned = 0
            while bytes < maxBytes, scanned < maxScanned {
                guard let row = try cursor.next() else {
                    step.isComplete = true
                    break
                }
                scanned += 1
                let ranges = StoredBatch.parse(ranges: row["ranges"])
                if !ranges.allSatisfy({ (vector[$0.agent] ?? 0) >= $0.seqs.upperBound }) {
                    let changes: Data = row["changes"]
                    // Keep frames within maxBytes: a batch that does not fit waits for the next step.
                    if !step.batches.isEmpty && bytes + changes.count > maxBytes { break }
                    step.batches.append([UInt8](changes))
                    let storedAt: Date? = row["storedAt"]
                    step.storedAt.append(storedAt.map(StoredBatch.storedTime) ?? 0)
                    bytes += changes.count
                }
                step.lastScanned = row["id"]
                step.ranges.append(contentsOf: ranges)
            }
            if step.lastScanned >= through { step.isComplete = true }
            return step
        }
    }

    /// The id of the newest stored batch of `document` (0 if none).
    func lastBatchID(of document: String) async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT max(id) FROM batch WHERE documentID = ?", arguments: [document]) ?? 0
        }
    }
}

/// What one step of a catch-up read.
struct CatchUpStep: Sendable {
    var lastScanned: Int64
    var batches: [[UInt8]] = []
    /// When each of `batches` was stored (``StoredBatch/storedTime(_:)``; 0 if unreadable).
    var storedAt: [Int64] = []
    var ranges: [StoredBatch.Range] = []
    /// True once every batch up to `through` has been scanned.
    var isComplete = false
}

/// How stored change batches record their events.
enum StoredBatch {
    /// One agent's consecutive events in the batch.
    struct Range: Sendable, Hashable {
        var agent: String
        var seqs: Swift.Range<Int>
    }

    /// A batch's stored time as the protocol carries it: whole Unix seconds (rounded
    /// down), within the range a frame may carry.
    static func storedTime(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite else { return 0 }
        return min(max(0, Int64(seconds)), SporProtocol.latestStoredTime)
    }

    /// Stored as lines "agent\tstart\tend": agent names contain no control characters.
    static func format(ranges: [ChangeSummary.AgentRun]) -> String {
        ranges.map { "\($0.agent.name)\t\($0.seqs.lowerBound)\t\($0.seqs.upperBound)" }.joined(separator: "\n")
    }

    static func parse(ranges text: String) -> [Range] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, let start = Int(fields[1]), let end = Int(fields[2]), start <= end else { return nil }
            return Range(agent: String(fields[0]), seqs: start..<end)
        }
    }
}
