/// Amounts of money in whole Danish kroner (DKK).
///
/// Proposals budget in whole kroner; øre are not used. Amounts are at most
/// ``maximum`` (a trillion kroner), so sums of a proposal's lines never overflow.
public enum Kroner {
    public static let maximum: Int64 = 1_000_000_000_000

    /// Reads an amount as a user writes it: "1250000", "1.250.000", "1 250 000",
    /// "1.250.000,00", "1250000 kr", "kr. 1.250.000", "DKK 1250000".
    ///
    /// Throws `negativeAmount` for amounts below zero and `invalidAmount` for
    /// anything else that is not a whole number of kroner up to ``maximum``, naming
    /// `field`.
    public static func parse(_ text: String, field: String) throws(ProposalError) -> Int64 {
        var body = text.trimmingWhitespace().lowercased()
        for affix in ["dkk", "kr.", "kr", ",-"] {
            if body.hasSuffix(affix) { body = String(body.dropLast(affix.count)).trimmingWhitespace() }
            if body.hasPrefix(affix) { body = String(body.dropFirst(affix.count)).trimmingWhitespace() }
        }
        var negative = false
        if body.hasPrefix("-") || body.hasPrefix("−") {
            negative = true
            body = String(body.dropFirst()).trimmingWhitespace()
        }
        // A decimal part is allowed only if it is zero øre: "1.250.000,00".
        if let comma = body.lastIndex(of: ",") {
            let decimals = body[body.index(after: comma)...]
            guard !decimals.isEmpty, decimals.allSatisfy({ $0 == "0" }) else {
                throw ProposalError(.invalidAmount, field: field,
                                    "\(String(reflecting: text)) is not a whole number of kroner", danish: "\(String(reflecting: text)) er ikke et helt antal kroner")
            }
            body = String(body[..<comma])
        }
        // Thousands separators: dots or spaces between groups of three digits.
        let groups = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "." || $0 == " " || $0 == "\u{00A0}" })
        let isGrouped = groups.count > 1
        guard !groups.isEmpty, groups.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              !isGrouped || (groups[0].count <= 3 && groups.dropFirst().allSatisfy { $0.count == 3 }) else {
            throw ProposalError(.invalidAmount, field: field,
                                "\(String(reflecting: text)) is not an amount in kroner (write e.g. 1250000 or 1.250.000)", danish: "\(String(reflecting: text)) er ikke et beløb i kroner (skriv fx 1250000 eller 1.250.000)")
        }
        let digits = groups.joined()
        guard let value = Int64(digits), value <= maximum else {
            throw ProposalError(.invalidAmount, field: field, "\(text) is more than \(format(maximum)) kr.", danish: "\(text) er mere end \(format(maximum)) kr.")
        }
        if negative && value != 0 {
            throw ProposalError(.negativeAmount, field: field, "an amount cannot be negative (\(text))", danish: "et beløb kan ikke være negativt (\(text))")
        }
        return value
    }

    /// Checks an amount given as a number.
    public static func check(_ value: Int64, field: String) throws(ProposalError) -> Int64 {
        guard value >= 0 else { throw ProposalError(.negativeAmount, field: field, "an amount cannot be negative (\(value))", danish: "et beløb kan ikke være negativt (\(value))") }
        guard value <= maximum else { throw ProposalError(.invalidAmount, field: field, "\(value) is more than \(format(maximum)) kr.", danish: "\(value) er mere end \(format(maximum)) kr.") }
        return value
    }

    /// Danish grouping: 1250000 → "1.250.000".
    public static func format(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(".") }
            result.append(digit)
        }
        return value < 0 ? "-" + result : result
    }
}
