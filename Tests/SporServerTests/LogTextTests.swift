import Testing
@testable import SporServer

@Suite("text from clients in the server's log")
struct LogTextTests {
    @Test("control and format characters are escaped and long text cut, so a log line stays one line")
    func escaped() {
        #expect(LogText.escaped("spor 0.1") == "spor 0.1")
        #expect(LogText.escaped("evil\nFAKE LOG LINE\u{1B}[31m") == "evil\\u{a}FAKE LOG LINE\\u{1b}[31m")
        #expect(LogText.escaped("abc\u{202E}fed") == "abc\\u{202e}fed", "a bidirectional override")
        #expect(LogText.escaped("a\\u{a}") == "a\\\\u{a}", "a backslash cannot fake an escape")
        #expect(LogText.escaped(String(repeating: "æ", count: 500)) == String(repeating: "æ", count: 128) + "…")
    }
}
