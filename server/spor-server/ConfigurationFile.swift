import ArgumentParser
import Foundation
import Logging
import SporServer
import Yams

/// `spor-server serve --config FILE`: what `serve`'s flags say, in a YAML file.
///
/// ```yaml
/// data: /var/lib/spor
/// listen: 0.0.0.0:7070
/// tls: { cert: /etc/spor/spor.crt, key: /etc/spor/spor.key }
/// insecureRemote: false
/// metrics: 127.0.0.1:9464
/// web: 0.0.0.0:8443
/// webSessionHours: 8
/// log: { level: info, format: json }
/// limits: { idleTimeout: 120, helloTimeout: 10, maxConnections: 4096 }
/// ```
///
/// Every key is optional. A flag given on the command line wins over the file, and
/// `$SPOR_DATA` over the file's `data`. An unknown key (a misspelt `metrics`) or a
/// value of the wrong kind is refused with its path, so that a mistake never starts a
/// server that silently ignores part of its configuration.
struct ConfigurationFile: Decodable, Equatable {
    struct TLS: Decodable, Equatable {
        var cert: String
        var key: String

        init(from decoder: any Decoder) throws {
            try ConfigurationFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            cert = try container.decode(String.self, forKey: .cert)
            key = try container.decode(String.self, forKey: .key)
        }

        private enum CodingKeys: String, CodingKey, CaseIterable { case cert, key }
    }

    struct Log: Decodable, Equatable {
        var level: Logger.Level?
        var format: LogFormat?

        init(from decoder: any Decoder) throws {
            try ConfigurationFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            level = try container.decodeIfPresent(Logger.Level.self, forKey: .level)
            format = try container.decodeIfPresent(LogFormat.self, forKey: .format)
        }

        private enum CodingKeys: String, CodingKey, CaseIterable { case level, format }
    }

    struct Limits: Decodable, Equatable {
        var idleTimeout: Int?
        var helloTimeout: Int?
        var maxConnections: Int?

        init(from decoder: any Decoder) throws {
            try ConfigurationFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            idleTimeout = try container.decodeIfPresent(Int.self, forKey: .idleTimeout)
            helloTimeout = try container.decodeIfPresent(Int.self, forKey: .helloTimeout)
            maxConnections = try container.decodeIfPresent(Int.self, forKey: .maxConnections)
        }

        private enum CodingKeys: String, CodingKey, CaseIterable { case idleTimeout, helloTimeout, maxConnections }
    }

    /// One webhook endpoint (`docs/DEPLOYMENT.md`, "Notifications").
    struct Webhook: Decodable, Equatable {
        var url: String
        /// The signing secret, or the file that holds it (one of the two).
        var secret: String?
        var secretFile: String?
        /// Event names (`proposal.submitted`, …); all when left out.
        var events: [String]?

        init(from decoder: any Decoder) throws {
            try ConfigurationFile.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decode(String.self, forKey: .url)
            secret = try container.decodeIfPresent(String.self, forKey: .secret)
            secretFile = try container.decodeIfPresent(String.self, forKey: .secretFile)
            events = try container.decodeIfPresent([String].self, forKey: .events)
        }

        private enum CodingKeys: String, CodingKey, CaseIterable { case url, secret, secretFile, events }
    }

    var data: String?
    var listen: String?
    var tls: TLS?
    var insecureRemote: Bool?
    var metrics: String?
    var web: String?
    var webSessionHours: Double?
    var log: Log?
    var limits: Limits?
    var webhooks: [Webhook]?

    /// The largest configuration file read (a configuration is a few hundred bytes).
    static let maxBytes = 64 * 1024

    init(from decoder: any Decoder) throws {
        try Self.refuseUnknownKeys(in: decoder, known: CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        data = try container.decodeIfPresent(String.self, forKey: .data)
        listen = try container.decodeIfPresent(String.self, forKey: .listen)
        tls = try container.decodeIfPresent(TLS.self, forKey: .tls)
        insecureRemote = try container.decodeIfPresent(Bool.self, forKey: .insecureRemote)
        metrics = try container.decodeIfPresent(String.self, forKey: .metrics)
        web = try container.decodeIfPresent(String.self, forKey: .web)
        webSessionHours = try container.decodeIfPresent(Double.self, forKey: .webSessionHours)
        log = try container.decodeIfPresent(Log.self, forKey: .log)
        limits = try container.decodeIfPresent(Limits.self, forKey: .limits)
        webhooks = try container.decodeIfPresent([Webhook].self, forKey: .webhooks)
    }

    private enum CodingKeys: String, CodingKey, CaseIterable { case data, listen, tls, insecureRemote, metrics, web, webSessionHours, log, limits, webhooks }

    /// The file's webhooks as endpoints: each secret read (from `secretFile`, trimmed),
    /// each event name and URL checked; a problem names the entry ("webhooks[1]").
    func webhookEndpoints() throws -> [WebhookEndpoint] {
        try (webhooks ?? []).enumerated().map { index, webhook in
            let name = "webhooks[\(index)]"
            let secret: String
            switch (webhook.secret, webhook.secretFile) {
            case let (value?, nil): secret = value
            case let (nil, file?):
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw CommandFailure(exitCode: 2, message: "\(name).secretFile: cannot read \(file)")
                }
                secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
            default: throw CommandFailure(exitCode: 2, message: "\(name) needs secret or secretFile (one of them)")
            }
            var events = Set(WebhookEndpoint.Event.allCases)
            if let names = webhook.events {
                events = try Set(names.map { name in
                    guard let event = WebhookEndpoint.Event(rawValue: name) else {
                        throw CommandFailure(exitCode: 2, message: "webhooks[\(index)].events: no event \(String(reflecting: name)) (events: "
                                             + WebhookEndpoint.Event.allCases.map(\.rawValue).joined(separator: ", ") + ")")
                    }
                    return event
                })
            }
            do {
                return try WebhookEndpoint(url: webhook.url, secret: secret, events: events)
            } catch let error as ServerError {
                throw CommandFailure(exitCode: 2, message: "\(name): \(error.message)")
            }
        }
    }

    /// Reads and checks `path`; throws a `CommandFailure` (exit code 2) that names the file and,
    /// for a bad value, the key's path ("limits.idleTimeout").
    static func load(_ path: String) throws -> ConfigurationFile {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? Int else {
            throw CommandFailure(exitCode: 2, message: "cannot read the configuration file \(path)")
        }
        guard size <= maxBytes else { throw CommandFailure(exitCode: 2, message: "the configuration file \(path) is over \(maxBytes / 1024) KiB") }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure(exitCode: 2, message: "the configuration file \(path) is not UTF-8 text")
        }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return try YAMLDecoder().decode(ConfigurationFile.self, from: "{}") }
        do {
            return try YAMLDecoder().decode(ConfigurationFile.self, from: text)
        } catch let error as DecodingError {
            throw CommandFailure(exitCode: 2, message: "\(path): \(describe(error))")
        } catch let error as UnknownKey {
            throw CommandFailure(exitCode: 2, message: "\(path): \(error.description)")
        } catch {
            throw CommandFailure(exitCode: 2, message: "\(path) is not valid YAML: \(error)")
        }
    }

    /// A key the file may not have.
    struct UnknownKey: Error, CustomStringConvertible {
        let path: String
        let known: [String]
        var description: String { "unknown key \(path) (known here: \(known.joined(separator: ", ")))" }
    }

    static func refuseUnknownKeys(in decoder: any Decoder, known: [String]) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            let path = (decoder.codingPath.map(\.stringValue) + [unknown]).joined(separator: ".")
            throw UnknownKey(path: path, known: known)
        }
    }

    private struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case let .typeMismatch(type, context): return "\(path(context)) must be \(kind(of: type))"
        case let .valueNotFound(type, context): return "\(path(context)) must be \(kind(of: type))"
        case let .keyNotFound(key, context): return "\((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")) is missing"
        case let .dataCorrupted(context):
            // Yams wraps what an `init(from:)` throws (an unknown key) in its own error.
            if let unknown = context.underlyingError as? UnknownKey { return unknown.description }
            if let inner = context.underlyingError as? DecodingError { return describe(inner) }
            if let underlying = context.underlyingError { return "not valid YAML: \(underlying)" }
            return path(context).isEmpty ? context.debugDescription : "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func kind(of type: Any.Type) -> String {
        switch type {
        case is Int.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is String.Type: "text"
        default: "a \(type)"
        }
    }
}

/// How `serve` writes its log lines on stderr.
enum LogFormat: String, Decodable, ExpressibleByArgument, CaseIterable {
    /// swift-log's `StreamLogHandler` lines, for people.
    case text
    /// One JSON object per line (`JSONLogHandler`), for a log collector.
    case json
}

