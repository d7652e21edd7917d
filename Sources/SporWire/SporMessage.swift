import SporCRDT

/// One message of protocol v2. Each is sent as one frame whose type byte is
/// ``MessageType``; Protocol/SPEC.md gives every field's encoding.
///
/// Client → server: `hello`, `createDocument`, `addMember`, `removeMember`, `setRole`,
/// `listDocuments`, `subscribe`, `unsubscribe`, `push`, `listRounds`, `processStep`.
/// Server → client: `welcome`, `snapshot`, `events`, `caughtUp`, `pushAck`, `ok`,
/// `documents`, `rounds`, `stepRecorded`, `accessEnded`, `error`. Either way: `ping`, `pong`.
public enum SporMessage: Sendable, Hashable {
    case hello(Hello)
    case welcome(Welcome)
    case ping(nonce: UInt64)
    case pong(nonce: UInt64)
    case createDocument(request: UInt64, document: String)
    case addMember(request: UInt64, document: String, organisation: String, role: MemberRole)
    case removeMember(request: UInt64, document: String, organisation: String)
    case setRole(request: UInt64, document: String, organisation: String, role: MemberRole)
    case listDocuments(request: UInt64)
    case subscribe(request: UInt64, document: String, version: VersionVector)
    case unsubscribe(document: String)
    case push(request: UInt64, document: String, changes: [UInt8])
    /// The start of a catch-up from nothing (protocol 4): see ``Snapshot``.
    case snapshot(Snapshot)
    case events(Events)
    case caughtUp(document: String, version: VersionVector)
    /// `storedAt`: the server's time the batch was stored (Unix seconds; protocol 3,
    /// nil in version 2 and for a push that added nothing).
    case pushAck(request: UInt64, document: String, newEvents: Int, storedAt: Int64?)
    case ok(request: UInt64)
    case documents(request: UInt64, documents: [DocumentEntry])
    case listRounds(request: UInt64)
    case rounds(request: UInt64, rounds: [RoundEntry])
    case processStep(request: UInt64, document: String, step: ProcessStep)
    case stepRecorded(request: UInt64, document: String, contentHash: String, at: Int64)
    case accessEnded(document: String)
    case error(ErrorReport)

    /// A member's role on a document, as the server keeps it.
    public enum MemberRole: UInt8, Sendable, Hashable, CaseIterable {
        case lead = 0
        case partner = 1
        case observer = 2
    }

    /// A process step the server is asked to take on a document.
    public struct ProcessStep: Sendable, Hashable {
        public enum Kind: UInt8, Sendable, Hashable, CaseIterable {
            case submitForQualification = 1
            case submitForApproval = 2
            case withdraw = 3
            case recordQualification = 4
            case recordDecision = 5
        }

        public var kind: Kind
        /// The version to submit (submissions only; empty otherwise).
        public var version: VersionVector
        /// The qualification result or decision outcome ("qualified", "approved", …);
        /// empty for submissions and withdrawals.
        public var outcome: String
        /// The secretariat's note (qualification and decision).
        public var note: String
        /// The amount granted (approvals), in DKK; nil for none.
        public var grantedAmount: Int64?

        public init(kind: Kind, version: VersionVector = VersionVector(), outcome: String = "", note: String = "",
                    grantedAmount: Int64? = nil) {
            self.kind = kind
            self.version = version
            self.outcome = outcome
            self.note = note
            self.grantedAmount = grantedAmount
        }
    }

    /// The first message of a connection, client → server.
    public struct Hello: Sendable, Hashable {
        /// The protocol versions the client speaks, lowest and highest.
        public var versions: ClosedRange<Int>
        public var token: String
        /// Free text naming the client program, for logs ("spor 0.1").
        public var client: String

        public init(versions: ClosedRange<Int> = SporProtocol.supportedVersions, token: String, client: String) {
            self.versions = versions
            self.token = token
            self.client = client
        }
    }

    /// The server's answer to a valid HELLO: the version chosen, who the client is
    /// and the limits it must respect.
    public struct Welcome: Sendable, Hashable {
        public var version: Int
        public var organisation: String
        public var organisationName: String
        /// "kommune", "region", "company", "association", "institution" or "secretariat".
        public var organisationKind: String
        /// Every agent the client writes events as must start with this prefix.
        public var agentPrefix: String
        public var maxFrameBytes: Int
        public var maxBatchEvents: Int
        /// The server closes a connection that sends nothing for this long.
        public var idleTimeoutSeconds: Int

        public init(version: Int, organisation: String, organisationName: String, organisationKind: String,
                    agentPrefix: String, maxFrameBytes: Int, maxBatchEvents: Int, idleTimeoutSeconds: Int) {
            self.version = version
            self.organisation = organisation
            self.organisationName = organisationName
            self.organisationKind = organisationKind
            self.agentPrefix = agentPrefix
            self.maxFrameBytes = maxFrameBytes
            self.maxBatchEvents = maxBatchEvents
            self.idleTimeoutSeconds = idleTimeoutSeconds
        }
    }

    /// Change batches of one document, in an order the receiver can merge them.
    public struct Events: Sendable, Hashable {
        public var document: String
        /// True while the server is catching a subscriber up; false for live relay.
        public var isCatchUp: Bool
        /// Encoded SporCRDT change batches.
        public var batches: [[UInt8]]
        /// When the server stored each batch (Unix seconds, the server's clock), one per
        /// batch — protocol 3; nil on a version 2 connection. 0: not known.
        public var storedAt: [Int64]?

        /// `storedAt`, if given, has one time per batch.
        public init(document: String, isCatchUp: Bool, batches: [[UInt8]], storedAt: [Int64]? = nil) {
            precondition(storedAt == nil || storedAt?.count == batches.count, "one stored time per batch")
            self.document = document
            self.isCatchUp = isCatchUp
            self.batches = batches
            self.storedAt = storedAt
        }
    }

    /// The server's own document file of a document's history up to a stored batch,
    /// sent first in a catch-up of a subscriber that has nothing (protocol 4), instead
    /// of every batch up to it; the batches stored after it follow as EVENTS.
    ///
    /// The file carries every event and the texts they merge to, so the receiver opens
    /// it instead of replaying the history — what makes a first sync of a long-branched
    /// proposal cheap. A client trusts its server for this as for everything it relays.
    public struct Snapshot: Sendable, Hashable {
        public var document: String
        /// A SporCRDT document file (`Document.encoded()`).
        public var file: [UInt8]
        /// When the server stored the file's events, as runs of one agent's
        /// consecutive events stored at one time (what EVENTS' `storedAt` says per
        /// batch). Runs may overlap: an event stored twice was stored at the earliest.
        public var storedTimes: [StoredTimeRun]

        public init(document: String, file: [UInt8], storedTimes: [StoredTimeRun]) {
            self.document = document
            self.file = file
            self.storedTimes = storedTimes
        }
    }

    /// One agent's events `seqs`, stored by the server at `storedAt` (Unix seconds,
    /// the server's clock).
    public struct StoredTimeRun: Sendable, Hashable {
        public var agent: AgentID
        public var seqs: Range<Int>
        public var storedAt: Int64

        public init(agent: AgentID, seqs: Range<Int>, storedAt: Int64) {
            self.agent = agent
            self.seqs = seqs
            self.storedAt = storedAt
        }
    }

    /// A document the organisation can see.
    public struct DocumentEntry: Sendable, Hashable {
        public var document: String
        public var events: Int

        public init(document: String, events: Int) {
            self.document = document
            self.events = events
        }
    }

    /// A round of the call as the server's calendar has it. Times are local
    /// (Europe/Copenhagen) "YYYY-MM-DD HH:MM", the meeting a date "YYYY-MM-DD";
    /// `opens` is empty when the round has no opening time.
    public struct RoundEntry: Sendable, Hashable {
        public var id: String
        public var danishName: String
        public var englishName: String
        public var opens: String
        public var qualificationDeadline: String
        public var approvalDeadline: String
        public var committeeMeeting: String

        public init(id: String, danishName: String, englishName: String, opens: String,
                    qualificationDeadline: String, approvalDeadline: String, committeeMeeting: String) {
            self.id = id
            self.danishName = danishName
            self.englishName = englishName
            self.opens = opens
            self.qualificationDeadline = qualificationDeadline
            self.approvalDeadline = approvalDeadline
            self.committeeMeeting = committeeMeeting
        }
    }

    /// A refusal or failure. `request` is the request it answers, 0 when none.
    public struct ErrorReport: Sendable, Hashable {
        public var request: UInt64
        public var code: UInt16
        public var message: String

        public init(request: UInt64 = 0, code: WireErrorCode, message: String) {
            self.request = request
            self.code = code.rawValue
            self.message = message
        }

        public init(request: UInt64, rawCode: UInt16, message: String) {
            self.request = request
            self.code = rawCode
            self.message = message
        }

        /// The code, if this implementation knows it (peers may add codes).
        public var knownCode: WireErrorCode? { WireErrorCode(rawValue: code) }
    }

    /// The frame type byte of each message.
    public enum MessageType: UInt8, Sendable, CaseIterable {
        case hello = 0x01
        case ping = 0x02
        case pong = 0x03
        case createDocument = 0x10
        case addMember = 0x11
        case listDocuments = 0x12
        case subscribe = 0x13
        case unsubscribe = 0x14
        case push = 0x15
        case listRounds = 0x16
        case removeMember = 0x17
        case setRole = 0x18
        case processStep = 0x19
        case welcome = 0x81
        case events = 0x82
        case caughtUp = 0x83
        case pushAck = 0x84
        case ok = 0x85
        case documents = 0x86
        case rounds = 0x87
        case stepRecorded = 0x88
        case accessEnded = 0x89
        case snapshot = 0x8A
        case error = 0x8F
    }

    public var type: MessageType {
        switch self {
        case .hello: .hello
        case .welcome: .welcome
        case .ping: .ping
        case .pong: .pong
        case .createDocument: .createDocument
        case .addMember: .addMember
        case .listDocuments: .listDocuments
        case .subscribe: .subscribe
        case .unsubscribe: .unsubscribe
        case .push: .push
        case .events: .events
        case .snapshot: .snapshot
        case .caughtUp: .caughtUp
        case .pushAck: .pushAck
        case .ok: .ok
        case .documents: .documents
        case .listRounds: .listRounds
        case .rounds: .rounds
        case .removeMember: .removeMember
        case .setRole: .setRole
        case .processStep: .processStep
        case .stepRecorded: .stepRecorded
        case .accessEnded: .accessEnded
        case .error: .error
        }
    }
}
