import Foundation
import SporCRDT
import SporDocuments
import SporProposal

/// Writing results: text for people, or JSON (sorted keys, so that the same content
/// prints the same bytes in every workspace).
enum Output {
    /// Prints `value` as `SporJSON` writes it, with a final newline.
    static func printJSON(_ value: some Encodable) {
        do {
            var bytes = try SporJSON.encode(value)
            bytes.append(UInt8(ascii: "\n"))
            FileHandle.standardOutput.write(Data(bytes))
        } catch {
            // Spor's shapes hold no Double, the one thing JSONEncoder refuses; say so if one ever does.
            FileHandle.standardError.write(Data("spor: the JSON output could not be written: \(error)\n".utf8))
            Foundation.exit(1)
        }
    }

    /// Prints `json()` with --json, else `text()`.
    static func emit<Shape: Encodable>(_ options: GlobalOptions, paged: Bool = false, json: () throws -> Shape, text: () throws -> String) rethrows {
        if options.json {
            printJSON(try json())
        } else if paged {
            // Long output (show, log) a page at a time on a terminal (`Pager`).
            Pager.show(try text())
        } else {
            let text = try text()
            FileHandle.standardOutput.write(Data((text.hasSuffix("\n") || text.isEmpty ? text : text + "\n").utf8))
        }
    }

    /// An instant in Copenhagen time as people write it, in the language spor speaks:
    /// "1. mar 2024 14:00" / "1 Mar 2024 14:00", the year always given (deadlines and
    /// records are read across years).
    static func local(_ date: Date?) -> String {
        guard let date else { return "–" }
        return time(date, language: Help.language, omittingYearOf: nil)
    }

    /// The one form of a time for people: "1. mar 2024 14:00" / "1 Mar 2024 14:00"
    /// (Copenhagen time); the year left out when it is `omittingYearOf`'s (`spor log`).
    static func time(_ date: Date, language: Language, omittingYearOf now: Date?) -> String {
        guard let local = try? CopenhagenTime.localTime(of: date) else { return "–" }
        let danish = language == .danish
        let months = danish ? ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
                            : ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let thisYear = now.flatMap { try? CopenhagenTime.localTime(of: $0) }?.date.year
        let year = local.date.year == thisYear ? "" : " \(local.date.year)"
        let clock = (local.hour < 10 ? "0" : "") + "\(local.hour):" + (local.minute < 10 ? "0" : "") + "\(local.minute)"
        return "\(local.date.day)\(danish ? "." : "") \(months[local.date.month - 1])\(year) \(clock)"
    }

    /// Kroner with Danish thousands separators: "1.250.000 kr."
    static func kroner(_ amount: Int64?) -> String {
        guard let amount else { return "–" }
        let digits = String(amount.magnitude)
        var grouped = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped += "." }
            grouped.append(character)
        }
        return (amount < 0 ? "-" : "") + grouped + " kr."
    }

    static func version(_ version: Version) -> String {
        version.heads.isEmpty ? "(empty)" : version.heads.map(\.description).joined(separator: ",")
    }
}
