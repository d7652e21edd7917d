/// Dates, times and amounts as Danish and English readers expect them, independent of
/// the machine's locale (exports and messages must be the same everywhere).
public enum Wording {
    private static let danishMonths = ["januar", "februar", "marts", "april", "maj", "juni", "juli",
                                       "august", "september", "oktober", "november", "december"]
    private static let englishMonths = ["January", "February", "March", "April", "May", "June", "July",
                                        "August", "September", "October", "November", "December"]
    private static let danishWeekdays = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]
    private static let englishWeekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    /// "mandag 15. april 2024"
    public static func danish(_ date: CalendarDate) -> String {
        "\(danishWeekdays[date.weekday - 1]) \(date.day). \(danishMonths[date.month - 1]) \(date.year)"
    }

    /// "Monday 15 April 2024"
    public static func english(_ date: CalendarDate) -> String {
        "\(englishWeekdays[date.weekday - 1]) \(date.day) \(englishMonths[date.month - 1]) \(date.year)"
    }

    /// "mandag 15. april 2024 kl. 09:00"
    public static func danish(_ time: LocalDateTime) -> String { "\(danish(time.date)) kl. \(clock(time))" }

    /// "Monday 15 April 2024, 09:00"
    public static func english(_ time: LocalDateTime) -> String { "\(english(time.date)), \(clock(time))" }

    /// "15. april 2024" / "15 April 2024"
    public static func danishShort(_ date: CalendarDate) -> String { "\(date.day). \(danishMonths[date.month - 1]) \(date.year)" }
    public static func englishShort(_ date: CalendarDate) -> String { "\(date.day) \(englishMonths[date.month - 1]) \(date.year)" }

    private static func clock(_ time: LocalDateTime) -> String {
        "\(time.hour < 10 ? "0" : "")\(time.hour):\(time.minute < 10 ? "0" : "")\(time.minute)"
    }

    /// "1.250.000 kr."
    public static func kroner(_ value: Int64) -> String { "\(Kroner.format(value)) kr." }

    /// "DKK 1,250,000"
    public static func englishKroner(_ value: Int64) -> String {
        "DKK " + Kroner.format(value).replacingDots(with: ",")
    }
}

private extension String {
    func replacingDots(with separator: Character) -> String {
        String(map { $0 == "." ? separator : $0 })
    }
}
