import Foundation
import Testing
@testable import SporProposal

@Suite("Rounds and deadlines")
struct RoundTests {
    @Test("the built-in 2024 rounds have the call's deadlines")
    func builtIn() throws {
        let calendar = RoundCalendar.builtIn
        #expect(calendar.rounds.map(\.id) == ["2024-spring", "2024-autumn"])
        let spring = try calendar.round(id: "2024-spring")
        #expect(spring.qualificationDeadline.description == "2024-04-15T09:00")
        #expect(spring.approvalDeadline.description == "2024-04-25T09:00")
        #expect(spring.committeeMeeting.description == "2024-05-30")
        let autumn = try calendar.round(id: "2024-autumn")
        #expect(autumn.qualificationDeadline.description == "2024-10-07T09:00")
        #expect(autumn.approvalDeadline.description == "2024-10-24T09:00")
        #expect(autumn.committeeMeeting.description == "2024-11-21")
        let unknown = #expect(throws: ProposalError.self) { try calendar.round(id: "2023-autumn") }
        #expect(unknown?.code == .unknownRound)
        #expect(unknown?.field == "round")
    }

    @Test("the secretariat adds later rounds as data (JSON), checked like the built-in ones")
    func roundsFromData() throws {
        let json = Data("""
            [{"id": "2025-spring", "danishName": "Forår 2025", "englishName": "Spring 2025",
              "qualificationDeadline": "2025-04-07T09:00", "approvalDeadline": "2025-04-24T09:00",
              "committeeMeeting": "2025-05-28"}]
            """.utf8)
        let rounds = try JSONDecoder().decode([Round].self, from: json)
        var calendar = RoundCalendar.builtIn
        try calendar.add(rounds[0])
        #expect(calendar.rounds.map(\.id) == ["2024-spring", "2024-autumn", "2025-spring"])
        #expect(try calendar.round(id: "2025-spring").deadlineInstant(for: .approval) == copenhagen("2025-04-24T09:00"))

        let badDate = Data(#"[{"id": "x", "danishName": "x", "englishName": "x", "qualificationDeadline": "2025-02-30T09:00", "approvalDeadline": "2025-04-24T09:00", "committeeMeeting": "2025-05-28"}]"#.utf8)
        #expect(throws: (any Error).self) { try JSONDecoder().decode([Round].self, from: badDate) }

        func round(_ id: String, _ qualification: String, _ approval: String, _ meeting: String) throws -> Round {
            Round(id: id, danishName: id, englishName: id,
                  qualificationDeadline: try LocalDateTime(parsing: qualification, field: "q"),
                  approvalDeadline: try LocalDateTime(parsing: approval, field: "a"),
                  committeeMeeting: try CalendarDate(parsing: meeting, field: "m"))
        }
        let cases: [(Round, ProposalError.Code)] = [
            (try round("2024-autumn", "2025-04-07T09:00", "2025-04-24T09:00", "2025-05-28"), .invalidRound),  // id taken
            (try round("late", "2025-04-24T09:00", "2025-04-07T09:00", "2025-05-28"), .invalidRound),         // out of order
            (try round("meeting", "2025-04-07T09:00", "2025-04-24T09:00", "2025-04-01"), .invalidRound),      // meeting first
            (try round("skipped", "2025-03-30T02:30", "2025-04-24T09:00", "2025-05-28"), .invalidDate),        // DST gap
            (try round(" ", "2025-04-07T09:00", "2025-04-24T09:00", "2025-05-28"), .invalidRound),
        ]
        for (bad, code) in cases {
            var copy = RoundCalendar.builtIn
            let error = #expect(throws: ProposalError.self) { try copy.add(bad) }
            #expect(error?.code == code, "\(bad.id)")
            #expect(copy.rounds.count == 2)
        }
    }

    @Test("a date picks the round still open; after the last round it is a typed error")
    func roundOpenAt() throws {
        let calendar = RoundCalendar.builtIn
        #expect(try calendar.round(openAt: copenhagen("2024-01-10T12:00")).id == "2024-spring")
        #expect(try calendar.round(openAt: copenhagen("2024-04-25T08:59")).id == "2024-spring")
        #expect(try calendar.round(openAt: copenhagen("2024-04-25T09:00")).id == "2024-autumn")
        let outside = #expect(throws: ProposalError.self) { try calendar.round(openAt: copenhagen("2024-10-24T09:00")) }
        #expect(outside?.code == .dateOutsideRounds)
        #expect(outside?.field == "round")

        var withOpening = RoundCalendar()
        try withOpening.add(Round(id: "r", danishName: "r", englishName: "r", opens: LocalDateTime(parsing: "2025-01-01T00:00", field: "o"),
                                  qualificationDeadline: LocalDateTime(parsing: "2025-02-01T09:00", field: "q"),
                                  approvalDeadline: LocalDateTime(parsing: "2025-03-01T09:00", field: "a"),
                                  committeeMeeting: CalendarDate(parsing: "2025-04-01", field: "m")))
        #expect(throws: ProposalError.self) { try withOpening.round(openAt: copenhagen("2024-12-31T23:59")) }
        #expect(try withOpening.round(openAt: copenhagen("2025-01-01T00:00")).id == "r")
    }
}
