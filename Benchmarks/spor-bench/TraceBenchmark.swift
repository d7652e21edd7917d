import ArgumentParser
import Foundation
import SporCRDT
import SporTraces

/// `spor-bench trace FILE.json[.gz] [--runs N] [--json]`: replays an editing trace and
/// prints one JSON object with what it measured.
struct TraceBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Replay, encode, load and merge one editing trace.",
        discussion: """
            Prints one JSON object on standard output with: trace, kind (sequential or \
            concurrent), events, finalChars, ok (every way of building the document gives \
            endContent), localReplayMs (the trace applied as local edits; a concurrent \
            trace's branches built and merged), encodeMs and encodedBytes (the whole \
            document as a file), loadMs (open that file until its text is read), mergeMs \
            (a fresh replica merges every event of the history, sent as one change batch, \
            until its text is read), newReplicaMs (a fresh replica merges the document file, \
            trusting its texts: what a client sent the file by its server does) \
            and memoryBytes (heap held by the loaded document). \
            Times are medians over --runs. Without --json a readable summary also goes to \
            standard error.
            """
    )

    @Argument(help: "A trace in the ../shared/traces format (.json or .json.gz).")
    var file: String

    @Option(help: "How many times to measure each step (the median is reported).")
    var runs = 5

    @Flag(help: "Print only the JSON object.")
    var json = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard FileManager.default.fileExists(atPath: file) else { throw ValidationError("no such trace: \(file)") }
    }

    func run() throws {
        let trace = try EditingTrace(contentsOf: file)
        var result = TraceResult(trace: trace.name, kind: trace.kind.rawValue, events: trace.eventCount,
                                 finalChars: trace.endContent.unicodeScalars.count)
        Self.measureAndPrint(trace, runs: runs, into: &result, summary: !json)
        if !result.ok { throw ExitCode(1) }
    }

    /// Measures `trace` into `result` and prints it (a failure is recorded in it).
    static func measureAndPrint(_ trace: EditingTrace, runs: Int, into result: inout TraceResult, summary: Bool) {
        do {
            try measure(trace, runs: runs, into: &result)
        } catch {
            result.ok = false
            result.error = String(describing: error)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: (try? encoder.encode(result)) ?? Data(), as: UTF8.self))
        if summary { FileHandle.standardError.write(Data(result.summary.utf8)) }
    }

    private static func measure(_ trace: EditingTrace, runs: Int, into result: inout TraceResult) throws {
        // Local replay.
        var document = Document()
        var times: [Double] = []
        for _ in 0..<runs {
            times.append(try Measurement.milliseconds {
                document = trace.kind == .sequential ? try trace.replayLocally() : try trace.replayBranchesAndMerge()
            })
        }
        result.localReplayMs = Measurement.median(times)
        var ok = document.text() == trace.endContent

        // Encode the whole document.
        var file: [UInt8] = []
        times = []
        for _ in 0..<runs { times.append(Measurement.milliseconds { file = document.encoded() }) }
        result.encodeMs = Measurement.median(times)
        result.encodedBytes = file.count

        // Load it until its text can be read.
        times = []
        for _ in 0..<runs {
            var text = ""
            times.append(try Measurement.milliseconds {
                let loaded = try Document(decoding: file)
                text = loaded.text()
            })
            ok = ok && text == trace.endContent
        }
        result.loadMs = Measurement.median(times)

        // A fresh replica merges every event, as a peer would send them.
        let changes = try document.encodedChanges()
        result.changeBytes = changes.count
        times = []
        for _ in 0..<runs {
            var text = ""
            times.append(try Measurement.milliseconds {
                var fresh = Document()
                try fresh.merge(encodedChanges: changes)
                text = fresh.text()
                result.placementScans = fresh.placementScansOfLastMerge
            })
            ok = ok && text == trace.endContent
        }
        result.mergeMs = Measurement.median(times)
        result.mergeNsPerEvent = (result.mergeMs * 1e7 / Double(max(1, result.events))).rounded() / 10

        // A new replica catching up from a sender it trusts: the same events as a
        // document file, whose texts it takes as they are (no replay).
        times = []
        for _ in 0..<runs {
            var text = ""
            times.append(try Measurement.milliseconds {
                var fresh = Document()
                try fresh.merge(encodedChanges: file, trustingTexts: true)
                text = fresh.text()
            })
            ok = ok && text == trace.endContent
        }
        result.newReplicaMs = Measurement.median(times)

        // Heap held by a loaded document, including the file bytes it keeps for its
        // lazily decoded history (so the file is copied inside the measurement, as if
        // just read from disk).
        let before = Measurement.heapBytesInUse()
        let loaded = try Document(decoding: file.withUnsafeBufferPointer { Array($0) })
        let after = Measurement.heapBytesInUse()
        withExtendedLifetime(loaded) {}
        result.memoryBytes = max(0, after - before)
        result.ok = ok
    }
}

/// The JSON object `spor-bench trace` prints.
struct TraceResult: Encodable {
    var trace: String
    var kind: String
    /// Branches concurrent at once (`spor-bench branches` only).
    var width: Int?
    /// Seed of the generated history (`spor-bench branches` only).
    var seed: UInt64?
    var events: Int
    var finalChars: Int
    var ok = false
    var localReplayMs = 0.0
    var encodeMs = 0.0
    var encodedBytes = 0
    var loadMs = 0.0
    var mergeMs = 0.0
    var memoryBytes = 0
    /// Size of the change batch the merge measurement receives.
    var changeBytes = 0
    /// Concurrent runs that merge scanned past to place insertions: what a server's
    /// placement budget counts, were the whole history pushed at once.
    var placementScans = 0
    var error: String?
    /// `mergeMs` per event, in nanoseconds.
    var mergeNsPerEvent = 0.0
    /// A fresh replica merging the document file (every event and the texts they
    /// merge to), trusting its texts: what a client sent the file by its server does.
    var newReplicaMs = 0.0

    var summary: String {
        func ms(_ value: Double) -> String { String(format: "%.3f ms", value) }
        return """
            \(trace) (\(kind)): \(events) events, \(finalChars) characters — \(ok ? "reproduced exactly" : "MISMATCH\(error.map { ": \($0)" } ?? "")")
              local replay  \(ms(localReplayMs))
              encode        \(ms(encodeMs)), \(encodedBytes) bytes
              load          \(ms(loadMs)), \(memoryBytes) bytes of heap
              merge         \(ms(mergeMs)) from a \(changeBytes)-byte change batch, \(placementScans) concurrent runs scanned
              new replica   \(ms(newReplicaMs)) from the \(encodedBytes)-byte file, its texts trusted

            """
    }
}
