import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import SporTestSupport

/// A small W3C WebDriver client for the browser tests: starts Debian's
/// `chromedriver` on a free port and drives one headless Chromium session through it
/// (navigate, find, type, click, read, keys, screenshots). Only what the tests use.
final class WebDriver: @unchecked Sendable {
    // `@unchecked Sendable`: `process` and `session` are set once in `start` before the
    // value is shared, and only read afterwards.
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// A found element's WebDriver reference.
    struct Element: Sendable { let id: String }

    static let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    /// The browser tests run where both are installed; under CI (`CI` set) they must
    /// be, so a missing browser fails the run instead of skipping it.
    static var isAvailable: Bool { (chromedriver != nil && chromium != nil) || ProcessInfo.processInfo.environment["CI"] != nil }

    private var process: Process?
    private var base = ""
    private var session = ""
    let downloads: String
    private let profile: String

    private init() {
        downloads = temporaryTestDirectory("spor-browser-downloads")
        profile = temporaryTestDirectory("spor-browser-profile")
    }

    /// A new headless Chromium, 1280×900 CSS pixels, downloading into `downloads`.
    static func start() async throws -> WebDriver {
        guard let chromedriver, let chromium else {
            throw Failure(description: "chromium and chromium-driver are not installed (scripts/test-tools installs them)")
        }
        let driver = WebDriver()
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromedriver)
        process.arguments = ["--port=\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        driver.process = process
        driver.base = "http://127.0.0.1:\(port)"
        // chromedriver answers /status once it listens.
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            if let status = try? await driver.call(.GET, "/status"), (status["ready"] as? Bool) == true { break }
            guard ContinuousClock.now < deadline else { throw Failure(description: "chromedriver did not start on port \(port)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": [
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--lang=da-DK", "--user-data-dir=\(driver.profile)", "--no-first-run", "--disable-extensions"],
                "prefs": ["download.default_directory": driver.downloads, "download.prompt_for_download": false,
                          "safebrowsing.enabled": false],
            ] as [String: Any],
        ] as [String: Any]]]
        let created = try await driver.call(.POST, "/session", capabilities)
        guard let id = created["sessionId"] as? String else { throw Failure(description: "no session: \(created)") }
        driver.session = id
        return driver
    }

    /// Ends the browser session and chromedriver, and any Chromium process of this
    /// session's profile that outlived them (SIGKILL: nothing of it is kept).
    func quit() async {
        if !session.isEmpty { _ = try? await call(.DELETE, "/session/\(session)") }
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let sweep = Process()
        sweep.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        sweep.arguments = ["-KILL", "-f", "--", profile]
        sweep.standardOutput = FileHandle.nullDevice
        sweep.standardError = FileHandle.nullDevice
        if (try? sweep.run()) != nil { sweep.waitUntilExit() }
    }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    // MARK: Commands

    func open(_ url: String) async throws { _ = try await command(.POST, "url", ["url": url]) }
    func currentURL() async throws -> String { try await command(.GET, "url") as? String ?? "" }
    func title() async throws -> String { try await command(.GET, "title") as? String ?? "" }

    func find(_ css: String) async throws -> Element {
        let value = try await command(.POST, "element", ["using": "css selector", "value": css])
        guard let object = value as? [String: Any], let id = object.values.first as? String else { throw Failure(description: "no element \(css)") }
        return Element(id: id)
    }

    func findAll(_ css: String) async throws -> [Element] {
        let value = try await command(.POST, "elements", ["using": "css selector", "value": css])
        return (value as? [[String: Any]] ?? []).compactMap { $0.values.first as? String }.map(Element.init)
    }

    func type(_ text: String, into element: Element) async throws {
        _ = try await command(.POST, "element/\(element.id)/value", ["text": text])
    }

    func click(_ element: Element) async throws { _ = try await command(.POST, "element/\(element.id)/click", [:]) }
    func text(of element: Element) async throws -> String { try await command(.GET, "element/\(element.id)/text") as? String ?? "" }

    func attribute(_ name: String, of element: Element) async throws -> String? {
        try await command(.GET, "element/\(element.id)/attribute/\(name)") as? String
    }

    func activeElement() async throws -> Element {
        let value = try await command(.GET, "element/active")
        guard let object = value as? [String: Any], let id = object.values.first as? String else { throw Failure(description: "no active element") }
        return Element(id: id)
    }

    /// Presses a key (WebDriver's key codes: "\u{E004}" Tab, "\u{E007}" Enter).
    func press(_ key: String) async throws {
        _ = try await command(.POST, "actions", ["actions": [[
            "type": "key", "id": "keyboard",
            "actions": [["type": "keyDown", "value": key], ["type": "keyUp", "value": key]],
        ] as [String: Any]]])
    }

    /// The viewport as PNG bytes.
    func screenshot() async throws -> Data {
        guard let base64 = try await command(.GET, "screenshot") as? String, let data = Data(base64Encoded: base64) else {
            throw Failure(description: "no screenshot")
        }
        return data
    }

    /// Resizes the window (screenshots of a whole table).
    func setWindow(width: Int, height: Int) async throws {
        _ = try await command(.POST, "window/rect", ["width": width, "height": height])
    }

    /// Runs `condition` until it is true or `seconds` pass.
    func wait(seconds: Double = 10, for what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !(try await condition()) {
            guard ContinuousClock.now < deadline else { throw Failure(description: "waited \(seconds) s for \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    // MARK: Transport

    private func command(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil) async throws -> Any {
        let answer = try await call(method, "/session/\(session)/\(path)", body)
        if let value = answer as [String: Any]?, let error = (value["value"] as? [String: Any])?["error"] as? String {
            let message = (value["value"] as? [String: Any])?["message"] as? String ?? ""
            throw Failure(description: "WebDriver \(path): \(error): \(message.prefix(300))")
        }
        return answer["value"] as Any
    }

    /// One WebDriver request; returns the answer's `value` object (or the whole answer
    /// for `/status`, whose value is the object).
    private func call(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body { request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))) }
        let response = try await WebVisitor.http.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any] else {
            throw Failure(description: "WebDriver \(path): not JSON")
        }
        if path == "/status" { return object["value"] as? [String: Any] ?? [:] }
        if path == "/session", method == .POST { return object["value"] as? [String: Any] ?? [:] }
        return object
    }

    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
