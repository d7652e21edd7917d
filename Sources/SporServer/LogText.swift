/// Text a client sent, made safe to write to a log: control and format characters
/// (line breaks, escape sequences, bidirectional overrides) are written as `\u{…}`
/// so one line of log stays one line and a terminal reading it is not driven by it,
/// and the text is cut after `limit` characters.
enum LogText {
    static func escaped(_ text: String, limit: Int = 128) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                result += "…"
                break
            }
            count += 1
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator:
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default:
                if scalar == "\\" { result += "\\\\" } else { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }
}
