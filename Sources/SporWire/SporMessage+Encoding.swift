import NIOCore
import SporCRDT

extension SporMessage {
    /// Writes the whole frame: length prefix, type byte, payload.
    public func writeFrame(into buffer: inout ByteBuffer) {
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(type.rawValue)
        writePayload(into: &buffer)
        let length = buffer.writerIndex - lengthIndex - SporProtocol.lengthPrefixBytes
        buffer.setInteger(UInt32(length), at: lengthIndex)
    }

    /// The frame as bytes (for tests, vectors and size checks).
    public var frameBytes: [UInt8] {
        var buffer = ByteBuffer()
        writeFrame(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Writes the payload (everything after the type byte).
    public func writePayload(into buffer: inout ByteBuffer) {
        switch self {
        case let .hello(hello):
            buffer.writeBytes(SporProtocol.magic)
            buffer.writeVarint(hello.versions.lowerBound)
            buffer.writeVarint(hello.versions.upperBound)
            buffer.writeWireString(hello.token)
            buffer.writeWireString(hello.client)
        case let .welcome(welcome):
            buffer.writeVarint(welcome.version)
            buffer.writeWireString(welcome.organisation)
            buffer.writeWireString(welcome.organisationName)
            buffer.writeWireString(welcome.organisationKind)
            buffer.writeWireString(welcome.agentPrefix)
            buffer.writeVarint(welcome.maxFrameBytes)
            buffer.writeVarint(welcome.maxBatchEvents)
            buffer.writeVarint(welcome.idleTimeoutSeconds)
        case let .ping(nonce), let .pong(nonce):
            buffer.writeVarint(nonce)
        case let .createDocument(request, document):
            buffer.writeVarint(request)
            buffer.writeWireString(document)
        case let .addMember(request, document, organisation, role), let .setRole(request, document, organisation, role):
            buffer.writeVarint(request)
            buffer.writeWireString(document)
            buffer.writeWireString(organisation)
            buffer.writeInteger(role.rawValue)
        case let .removeMember(request, document, organisation):
            buffer.writeVarint(request)
            buffer.writeWireString(document)
            buffer.writeWireString(organisation)
        case let .processStep(request, document, step):
            buffer.writeVarint(request)
            buffer.writeWireString(document)
            buffer.writeInteger(step.kind.rawValue)
            buffer.writeVersionVector(step.version)
            buffer.writeWireString(step.outcome)
            buffer.writeWireString(step.note)
            buffer.writeVarint(UInt64(max(0, step.grantedAmount ?? 0)))
        case let .stepRecorded(request, document, contentHash, at):
            buffer.writeVarint(request)
            buffer.writeWireString(document)
            buffer.writeWireString(contentHash)
            buffer.writeVarint(UInt64(max(0, at)))
        case let .accessEnded(document):
            buffer.writeWireString(document)
        case let .listDocuments(request), let .ok(request), let .listRounds(request):
            buffer.writeVarint(request)
        case let .rounds(request, rounds):
            buffer.writeVarint(request)
            buffer.writeVarint(rounds.count)
            for round in rounds {
                buffer.writeWireString(round.id)
                buffer.writeWireString(round.danishName)
                buffer.writeWireString(round.englishName)
                buffer.writeWireString(round.opens)
                buffer.writeWireString(round.qualificationDeadline)
                buffer.writeWireString(round.approvalDeadline)
                buffer.writeWireString(round.committeeMeeting)
            }
        case let .subscribe(request, document, version):
            buffer.writeVarint(request)
            buffer.writeWireString(document)
            buffer.writeVersionVector(version)
        case let .caughtUp(document, version):
            buffer.writeWireString(document)
            buffer.writeVersionVector(version)
        case let .unsubscribe(document):
            buffer.writeWireString(document)
        case let .push(request, document, changes):
            buffer.writeVarint(request)
            buffer.writeWireString(document)
            buffer.writeWireBytes(changes)
        case let .snapshot(snapshot):
            buffer.writeWireString(snapshot.document)
            buffer.writeWireBytes(snapshot.file)
            buffer.writeVarint(snapshot.storedTimes.count)
            for run in snapshot.storedTimes {
                buffer.writeWireString(run.agent.name)
                buffer.writeVarint(run.seqs.lowerBound)
                buffer.writeVarint(run.seqs.count)
                buffer.writeVarint(UInt64(max(0, run.storedAt)))
            }
        case let .events(events):
            buffer.writeWireString(events.document)
            buffer.writeInteger(UInt8(events.isCatchUp ? 1 : 0))
            buffer.writeVarint(events.batches.count)
            for batch in events.batches { buffer.writeWireBytes(batch) }
            // Protocol 3: the stored times after the batches (a version 2 frame ends here).
            for time in events.storedAt ?? [] { buffer.writeVarint(UInt64(max(0, time))) }
        case let .pushAck(request, document, newEvents, storedAt):
            buffer.writeVarint(request)
            buffer.writeWireString(document)
            buffer.writeVarint(newEvents)
            if let storedAt { buffer.writeVarint(UInt64(max(0, storedAt))) }
        case let .documents(request, documents):
            buffer.writeVarint(request)
            buffer.writeVarint(documents.count)
            for entry in documents {
                buffer.writeWireString(entry.document)
                buffer.writeVarint(entry.events)
            }
        case let .error(report):
            buffer.writeVarint(report.request)
            buffer.writeVarint(UInt64(report.code))
            buffer.writeWireString(report.message)
        }
    }

    /// Decodes one frame's type byte and payload (the length prefix already removed).
    /// Throws ``WireError`` (``WireErrorCode/malformedFrame``) for an unknown type,
    /// a field out of bounds or bytes left over.
    public static func decode(type rawType: UInt8, payload: ByteBuffer) throws(WireError) -> SporMessage {
        guard let type = MessageType(rawValue: rawType) else {
            throw WireError(.malformedFrame, "unknown message type 0x\(String(rawType, radix: 16))")
        }
        var reader = WireReader(buffer: payload, messageName: "\(type)")
        let message: SporMessage
        switch type {
        case .hello:
            guard reader.buffer.readBytes(length: SporProtocol.magic.count) == SporProtocol.magic else {
                throw reader.malformed("does not start with \"SPOR\": not a Spor client")
            }
            let low = try reader.readCount("lowest version", atMost: Int(UInt16.max))
            let high = try reader.readCount("highest version", atMost: Int(UInt16.max))
            guard low <= high else { throw reader.malformed("lowest version \(low) is above highest \(high)") }
            let token = try reader.readString("token", atMost: SporProtocol.maxTokenBytes)
            let client = try reader.readString("client", atMost: SporProtocol.maxTextBytes)
            message = .hello(Hello(versions: low...high, token: token, client: client))
        case .welcome:
            let version = try reader.readCount("version", atMost: Int(UInt16.max))
            let organisation = try reader.readName("organisation")
            let name = try reader.readString("organisation name", atMost: SporProtocol.maxTextBytes)
            let kind = try reader.readString("organisation kind", atMost: SporProtocol.maxNameBytes)
            let prefix = try reader.readString("agent prefix", atMost: AgentID.maxUTF8Count)
            let maxFrame = try reader.readCount("max frame bytes", atMost: Int(UInt32.max))
            let maxEvents = try reader.readCount("max batch events", atMost: Int(UInt32.max))
            let idle = try reader.readCount("idle timeout", atMost: Int(UInt32.max))
            message = .welcome(Welcome(version: version, organisation: organisation, organisationName: name,
                                       organisationKind: kind, agentPrefix: prefix, maxFrameBytes: maxFrame,
                                       maxBatchEvents: maxEvents, idleTimeoutSeconds: idle))
        case .ping:
            message = .ping(nonce: try reader.readVarint("nonce"))
        case .pong:
            message = .pong(nonce: try reader.readVarint("nonce"))
        case .createDocument:
            let request = try reader.readVarint("request")
            message = .createDocument(request: request, document: try reader.readName("document"))
        case .addMember, .setRole:
            let request = try reader.readVarint("request")
            let document = try reader.readName("document")
            let organisation = try reader.readName("organisation")
            guard let byte = reader.buffer.readInteger(as: UInt8.self), let role = MemberRole(rawValue: byte) else {
                throw reader.malformed("role must be 0 (lead), 1 (partner) or 2 (observer)")
            }
            message = type == .addMember
                ? .addMember(request: request, document: document, organisation: organisation, role: role)
                : .setRole(request: request, document: document, organisation: organisation, role: role)
        case .removeMember:
            let request = try reader.readVarint("request")
            let document = try reader.readName("document")
            message = .removeMember(request: request, document: document, organisation: try reader.readName("organisation"))
        case .processStep:
            let request = try reader.readVarint("request")
            let document = try reader.readName("document")
            guard let byte = reader.buffer.readInteger(as: UInt8.self), let kind = ProcessStep.Kind(rawValue: byte) else {
                throw reader.malformed("step must be 1 to 5")
            }
            let version = try reader.readVersionVector("version")
            let outcome = try reader.readString("outcome", atMost: SporProtocol.maxNameBytes)
            let note = try reader.readString("note", atMost: SporProtocol.maxNoteBytes)
            let amount = try reader.readCount("granted amount", atMost: SporProtocol.maxGrantedAmount)
            message = .processStep(request: request, document: document, step: ProcessStep(
                kind: kind, version: version, outcome: outcome, note: note, grantedAmount: amount == 0 ? nil : Int64(amount)))
        case .stepRecorded:
            let request = try reader.readVarint("request")
            let document = try reader.readName("document")
            let hash = try reader.readString("content hash", atMost: SporProtocol.maxNameBytes)
            let at = try reader.readCount("time", atMost: Int(Int64.max))
            message = .stepRecorded(request: request, document: document, contentHash: hash, at: Int64(at))
        case .accessEnded:
            message = .accessEnded(document: try reader.readName("document"))
        case .listDocuments:
            message = .listDocuments(request: try reader.readVarint("request"))
        case .ok:
            message = .ok(request: try reader.readVarint("request"))
        case .listRounds:
            message = .listRounds(request: try reader.readVarint("request"))
        case .rounds:
            let request = try reader.readVarint("request")
            let count = try reader.readCount("round count", atMost: reader.buffer.readableBytes / 7)
            var rounds: [RoundEntry] = []
            rounds.reserveCapacity(count)
            for _ in 0..<count {
                let id = try reader.readName("round id")
                let danish = try reader.readString("Danish name", atMost: SporProtocol.maxTextBytes)
                let english = try reader.readString("English name", atMost: SporProtocol.maxTextBytes)
                let opens = try reader.readString("opens", atMost: SporProtocol.maxNameBytes)
                let qualification = try reader.readString("qualification deadline", atMost: SporProtocol.maxNameBytes)
                let approval = try reader.readString("approval deadline", atMost: SporProtocol.maxNameBytes)
                let meeting = try reader.readString("committee meeting", atMost: SporProtocol.maxNameBytes)
                rounds.append(RoundEntry(id: id, danishName: danish, englishName: english, opens: opens,
                                         qualificationDeadline: qualification, approvalDeadline: approval, committeeMeeting: meeting))
            }
            message = .rounds(request: request, rounds: rounds)
        case .subscribe:
            let request = try reader.readVarint("request")
            let document = try reader.readName("document")
            message = .subscribe(request: request, document: document, version: try reader.readVersionVector("version"))
        case .caughtUp:
            let document = try reader.readName("document")
            message = .caughtUp(document: document, version: try reader.readVersionVector("version"))
        case .unsubscribe:
            message = .unsubscribe(document: try reader.readName("document"))
        case .push:
            let request = try reader.readVarint("request")
            let document = try reader.readName("document")
            let changes = try reader.readBytes("changes", atMost: reader.buffer.readableBytes)
            message = .push(request: request, document: document, changes: changes)
        case .events:
            let document = try reader.readName("document")
            guard let flag = reader.buffer.readInteger(as: UInt8.self), flag <= 1 else {
                throw reader.malformed("catch-up flag must be 0 or 1")
            }
            let count = try reader.readCount("batch count", atMost: reader.buffer.readableBytes)
            var batches: [[UInt8]] = []
            batches.reserveCapacity(count)
            for _ in 0..<count {
                batches.append(try reader.readBytes("batch", atMost: reader.buffer.readableBytes))
            }
            // Protocol 3 adds one stored time per batch; a version 2 frame ends after the batches.
            var storedAt: [Int64]?
            if reader.buffer.readableBytes > 0 {
                var times: [Int64] = []
                times.reserveCapacity(count)
                for _ in 0..<count { times.append(try reader.readStoredTime()) }
                storedAt = times
            }
            message = .events(Events(document: document, isCatchUp: flag == 1, batches: batches, storedAt: storedAt))
        case .snapshot:
            let document = try reader.readName("document")
            let file = try reader.readBytes("file", atMost: reader.buffer.readableBytes)
            // Each run takes at least 5 bytes: a count larger than that cannot be honest.
            let count = try reader.readCount("stored-time run count", atMost: reader.buffer.readableBytes / 5)
            var runs: [StoredTimeRun] = []
            runs.reserveCapacity(count)
            for _ in 0..<count {
                let name = try reader.readString("stored-time agent", atMost: AgentID.maxUTF8Count)
                let agent: AgentID
                do { agent = try AgentID(name) } catch { throw reader.malformed("stored-time agent: \(error.message)") }
                let start = try reader.readCount("stored-time first seq", atMost: Int(Int32.max))
                let length = try reader.readCount("stored-time event count", atMost: Int(Int32.max) - start)
                guard length > 0 else { throw reader.malformed("a stored-time run of \(name) has no events") }
                runs.append(StoredTimeRun(agent: agent, seqs: start..<(start + length), storedAt: try reader.readStoredTime()))
            }
            message = .snapshot(Snapshot(document: document, file: file, storedTimes: runs))
        case .pushAck:
            let request = try reader.readVarint("request")
            let document = try reader.readName("document")
            let newEvents = try reader.readCount("new events", atMost: Int(Int32.max))
            let storedAt = reader.buffer.readableBytes > 0 ? try reader.readStoredTime() : nil
            message = .pushAck(request: request, document: document, newEvents: newEvents, storedAt: storedAt)
        case .documents:
            let request = try reader.readVarint("request")
            let count = try reader.readCount("document count", atMost: reader.buffer.readableBytes / 2)
            var documents: [DocumentEntry] = []
            documents.reserveCapacity(count)
            for _ in 0..<count {
                let document = try reader.readName("document")
                documents.append(DocumentEntry(document: document, events: try reader.readCount("events", atMost: Int(Int32.max) * 64)))
            }
            message = .documents(request: request, documents: documents)
        case .error:
            let request = try reader.readVarint("request")
            let code = try reader.readCount("code", atMost: Int(UInt16.max))
            let text = try reader.readString("message", atMost: SporProtocol.maxTextBytes)
            message = .error(ErrorReport(request: request, rawCode: UInt16(code), message: text))
        }
        try reader.finish()
        return message
    }
}
