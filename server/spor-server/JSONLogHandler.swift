import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line to stderr, for a log
/// collector: `{"time":"2026-12-03T06:40:01.123Z","level":"info","label":"spor.server",
/// "message":"listening","metadata":{"address":"…"},"source":"SporServer"}`. Keys are
/// sorted; every value is a string (metadata is flattened with swift-log's own
/// description of nested values). Lines are written whole with one `write(2)`, so
/// lines of concurrent tasks never interleave.
struct JSONLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    let label: String

    init(label: String, level: Logger.Level) {
        self.label = label
        logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    private struct Line: Encodable {
        let time: String
        let level: String
        let label: String
        let message: String
        let metadata: [String: String]?
        let source: String
    }

    func log(event: LogEvent) {
        var merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if let error = event.error { merged["error"] = "\(error)" }
        let entry = Line(time: Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
                         level: event.level.rawValue, label: label, message: event.message.description,
                         metadata: merged.isEmpty ? nil : merged.mapValues(\.description), source: event.source)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var bytes = try? encoder.encode(entry) else { return }
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDERR_FILENO, buffer.baseAddress?.advanced(by: offset), buffer.count - offset)
                if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}
