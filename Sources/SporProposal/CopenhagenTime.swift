import Foundation

/// A wall-clock time in Copenhagen, as the call for proposals states deadlines:
/// "Mon 15 April 2024 09:00". Written and read as "2024-04-15T09:00".
public struct LocalDateTime: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let date: CalendarDate
    public let hour: Int
    public let minute: Int

    public init(_ date: CalendarDate, hour: Int, minute: Int = 0) throws(ProposalError) {
        guard (0...23).contains(hour), (0...59).contains(minute) else {
            throw ProposalError(.invalidDate, field: nil, "\(hour):\(minute) is not a time of day", danish: "\(hour):\(minute) er ikke et klokkeslæt")
        }
        self.date = date
        self.hour = hour
        self.minute = minute
    }

    /// Reads "YYYY-MM-DDTHH:MM" (or with a space instead of the T).
    public init(parsing text: String, field: String) throws(ProposalError) {
        let trimmed = text.trimmingWhitespace()
        let parts = trimmed.split(whereSeparator: { $0 == "T" || $0 == " " })
        let clock = parts.count == 2 ? parts[1].split(separator: ":", omittingEmptySubsequences: false) : []
        guard parts.count == 2, clock.count == 2, clock.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let hour = Int(clock[0]), let minute = Int(clock[1]) else {
            throw ProposalError(.invalidDate, field: field,
                                "\(String(reflecting: text)) is not a date and time; write YYYY-MM-DDTHH:MM, e.g. 2024-04-15T09:00", danish: "\(String(reflecting: text)) er ikke en dato og et klokkeslæt; skriv ÅÅÅÅ-MM-DDTTT:MM, fx 2024-04-15T09:00")
        }
        let date = try CalendarDate(parsing: String(parts[0]), field: field)
        do {
            try self.init(date, hour: hour, minute: minute)
        } catch {
            throw ProposalError(.invalidDate, field: field, "\(text) is not a time of day", danish: "\(text) er ikke et klokkeslæt")
        }
    }

    public static func < (lhs: LocalDateTime, rhs: LocalDateTime) -> Bool {
        (lhs.date, lhs.hour, lhs.minute) < (rhs.date, rhs.hour, rhs.minute)
    }

    public var description: String {
        "\(date)T\(hour < 10 ? "0" : "")\(hour):\(minute < 10 ? "0" : "")\(minute)"
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text, field: decoder.codingPath.map(\.stringValue).joined(separator: "."))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Conversions between instants and Copenhagen wall-clock time (CET/CEST), using the
/// system's time zone database (Debian's `tzdata`).
public enum CopenhagenTime {
    public static let identifier = "Europe/Copenhagen"

    private static let calendar: Calendar? = {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }()

    private static func requireCalendar(field: String?) throws(ProposalError) -> Calendar {
        guard let calendar else {
            throw ProposalError(.invalidDate, field: field,
                                "the time zone \(identifier) is not available on this system (install tzdata)", danish: "tidszonen \(identifier) findes ikke på denne maskine (installér tzdata)")
        }
        return calendar
    }

    /// The instant at which Copenhagen clocks show `local`. Throws `invalidDate` for a
    /// wall-clock time that does not exist (skipped when clocks go forward, 02:00–02:59
    /// on the last Sunday of March) or happens twice (02:00–02:59 on the last Sunday
    /// of October): a deadline must name one instant.
    public static func instant(of local: LocalDateTime, field: String? = nil) throws(ProposalError) -> Date {
        let calendar = try requireCalendar(field: field)
        let components = DateComponents(year: local.date.year, month: local.date.month, day: local.date.day,
                                        hour: local.hour, minute: local.minute)
        guard let instant = calendar.date(from: components), wallClock(instant, calendar) == local else {
            throw ProposalError(.invalidDate, field: field,
                                "\(local) does not exist in Copenhagen (the clocks skip it when summer time starts)", danish: "\(local) findes ikke i København (uret springer det over, når sommertiden begynder)")
        }
        // The same wall-clock time one hour earlier or later is the other occurrence.
        for offset in [-3600.0, 3600.0] where wallClock(instant.addingTimeInterval(offset), calendar) == local {
            throw ProposalError(.invalidDate, field: field,
                                "\(local) happens twice in Copenhagen (the clocks go back when summer time ends)", danish: "\(local) forekommer to gange i København (uret stilles tilbage, når sommertiden slutter)")
        }
        return instant
    }

    /// The start of day `date` in Copenhagen.
    public static func startOfDay(_ date: CalendarDate, field: String? = nil) throws(ProposalError) -> Date {
        try instant(of: LocalDateTime(date, hour: 0), field: field)
    }

    /// Copenhagen calendar days from `start` to `end`: 0 on the same local day, 1 for
    /// the next, negative when `end` is earlier; nil outside the calendar.
    public static func calendarDays(from start: Date, to end: Date) -> Int? {
        guard let from = try? localTime(of: start), let to = try? localTime(of: end) else { return nil }
        return to.date.daysSinceEpoch - from.date.daysSinceEpoch
    }

    /// What Copenhagen clocks show at `instant` (to the minute).
    public static func localTime(of instant: Date) throws(ProposalError) -> LocalDateTime {
        let calendar = try requireCalendar(field: nil)
        guard let local = wallClock(instant, calendar) else {
            throw ProposalError(.invalidDate, field: nil, "\(instant) is outside the calendar", danish: "\(instant) ligger uden for kalenderen")
        }
        return local
    }

    private static func wallClock(_ instant: Date, _ calendar: Calendar) -> LocalDateTime? {
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: instant)
        guard let year = parts.year, let month = parts.month, let day = parts.day,
              let hour = parts.hour, let minute = parts.minute,
              let date = try? CalendarDate(year: year, month: month, day: day) else { return nil }
        return try? LocalDateTime(date, hour: hour, minute: minute)
    }
}
