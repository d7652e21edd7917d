import Foundation
import Testing
@testable import SporProposal

/// The organisations, amounts, dates and Copenhagen times every rule relies on.
@Suite("Reference data, amounts and dates")
struct ReferenceDataTests {
    @Test("the registry has the 98 municipalities and 5 regions, grouped as the reference data's README counts them")
    func registry() throws {
        #expect(Organisation.all.count == 103)
        #expect(Organisation.all.filter { $0.kind == .region }.count == 5)
        #expect(Set(Organisation.all.map(\.code)).count == 103)
        // Counts per region from ../shared/reference/README.md.
        let municipalities = Organisation.all.filter { $0.kind == .municipality }
        let perRegion = Dictionary(grouping: municipalities, by: \.regionCode).mapValues(\.count)
        #expect(perRegion == ["1084": 29, "1082": 19, "1083": 22, "1085": 17, "1081": 11])
        #expect(municipalities.allSatisfy { $0.code.count == 4 && Organisation.withCode($0.regionCode)?.kind == .region })
        #expect(Organisation.withCode("0101")?.officialName == "Københavns Kommune")
        #expect(Organisation.withCode("0411") == nil)  // Christiansø is not a municipality
        #expect(Organisation.lookup("aarhus")?.code == "0751")
        #expect(Organisation.lookup("Region Midtjylland")?.code == "1082")
        #expect(Organisation.lookup("  0461 ")?.shortName == "Odense")
        #expect(Organisation.lookup("Atlantis") == nil)
    }

    @Test("participants are named by registry code or name, or by name with a kind; unknown codes are refused")
    func participantOrganisations() throws {
        #expect(try ParticipantOrganisation(parsing: "Vejle", field: "p") == .registered(#require(Organisation.withCode("0630"))))
        #expect(try ParticipantOrganisation(parsing: "DTU", kind: .knowledgeInstitution, field: "p") == .other(name: "DTU", kind: .knowledgeInstitution))
        let unknownCode = #expect(throws: ProposalError.self) { try ParticipantOrganisation(parsing: "9999", field: "participants.organisation") }
        #expect(unknownCode?.code == .unknownOrganisation)
        #expect(unknownCode?.field == "participants.organisation")
        let unknownName = #expect(throws: ProposalError.self) { try ParticipantOrganisation(parsing: "Grøn Tag ApS", field: "p") }
        #expect(unknownName?.code == .unknownOrganisation)
        let registryAsCompany = #expect(throws: ProposalError.self) { try ParticipantOrganisation(parsing: "Aarhus", kind: .company, field: "p") }
        #expect(registryAsCompany?.code == .invalidValue)
        #expect(throws: ProposalError.self) { try ParticipantOrganisation(parsing: "  ", field: "p") }
    }

    @Test("amounts are read as Danes write them; negative and non-numeric amounts are typed errors naming the field",
          arguments: [("1250000", 1_250_000), ("1.250.000", 1_250_000), ("1 250 000", 1_250_000), ("1.250.000,00", 1_250_000),
                      ("1250000 kr", 1_250_000), ("kr. 1.250.000", 1_250_000), ("DKK 500", 500), ("1.250.000,-", 1_250_000), ("0", 0)] as [(String, Int64)])
    func amounts(text: String, expected: Int64) throws {
        #expect(try Kroner.parse(text, field: "amountRequested") == expected)
    }

    @Test("bad amounts", arguments: [("abc", "invalidAmount"), ("-5", "negativeAmount"), ("−1.000", "negativeAmount"),
                                      ("1,5", "invalidAmount"), ("12.50", "invalidAmount"), ("1.2345", "invalidAmount"),
                                      ("", "invalidAmount"), ("99999999999999999999", "invalidAmount"), ("1e6", "invalidAmount")])
    func badAmounts(text: String, code: String) {
        let error = #expect(throws: ProposalError.self) { try Kroner.parse(text, field: "budget.amount") }
        #expect(error?.code.rawValue == code)
        #expect(error?.field == "budget.amount")
    }

    @Test("calendar dates exist or are refused; weekdays agree with the call's dates")
    func calendarDates() throws {
        #expect(try CalendarDate(parsing: "2024-02-29", field: "d").day == 29)
        for text in ["2023-02-29", "2024-13-01", "2024-04-31", "24-04-01", "2024-4-1", "i morgen", "2024-04-01T09:00"] {
            let error = #expect(throws: ProposalError.self) { try CalendarDate(parsing: text, field: "milestones.date") }
            #expect(error?.code == .invalidDate)
            #expect(error?.field == "milestones.date")
        }
        // DESIGN.md: Mon 15 April, Thu 25 April, Thu 30 May, Mon 7 October, Thu 24 October, Thu 21 November 2024.
        let days: [(Int, Int, Int)] = [(4, 15, 1), (4, 25, 4), (5, 30, 4), (10, 7, 1), (10, 24, 4), (11, 21, 4)]
        for (month, day, weekday) in days {
            #expect(try CalendarDate(year: 2024, month: month, day: day).weekday == weekday)
        }
        #expect(try CalendarDate(year: 1970, month: 1, day: 1).weekday == 4)
    }

    @Test("Copenhagen times map to the right instants in summer and winter time; skipped and repeated times are refused")
    func copenhagenTime() throws {
        let utc = ISO8601DateFormatter()
        // 09:00 CEST (UTC+2) in April and October; 09:00 CET (UTC+1) in November and January.
        #expect(try copenhagen("2024-04-15T09:00") == utc.date(from: "2024-04-15T07:00:00Z"))
        #expect(try copenhagen("2024-10-24T09:00") == utc.date(from: "2024-10-24T07:00:00Z"))
        #expect(try copenhagen("2024-11-21T00:00") == utc.date(from: "2024-11-20T23:00:00Z"))
        #expect(try copenhagen("2025-01-15T09:00") == utc.date(from: "2025-01-15T08:00:00Z"))
        // Around the changes: 01:59 CET is 00:59Z; 03:00 CEST is 01:00Z on 31 March 2024.
        #expect(try copenhagen("2024-03-31T01:59") == utc.date(from: "2024-03-31T00:59:00Z"))
        #expect(try copenhagen("2024-03-31T03:00") == utc.date(from: "2024-03-31T01:00:00Z"))
        let skipped = #expect(throws: ProposalError.self) { try copenhagen("2024-03-31T02:30") }
        #expect(skipped?.code == .invalidDate)
        let repeated = #expect(throws: ProposalError.self) { try copenhagen("2024-10-27T02:30") }
        #expect(repeated?.code == .invalidDate)
        #expect(try CopenhagenTime.localTime(of: #require(utc.date(from: "2024-10-27T01:30:00Z"))).description == "2024-10-27T02:30")
        #expect(try CopenhagenTime.localTime(of: #require(utc.date(from: "2024-10-27T00:30:00Z"))).description == "2024-10-27T02:30")
    }
}
