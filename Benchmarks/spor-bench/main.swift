import Foundation
import SporCRDT
import SporTraces

// Temporary timing harness (replaced by the real spor-bench command).
let path = CommandLine.arguments[1]
let mode = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : "merge"
let repeats = Int(CommandLine.arguments.count > 3 ? CommandLine.arguments[3] : "11") ?? 11
let trace = try EditingTrace(contentsOf: path)
func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}
if mode == "replicas" {
    var replicas = try TraceReplicas(trace: trace)
    print("replicas replay", try time { try replicas.replay() }, replicas.batchesExchanged, replicas.bytesExchanged)
} else {
    let pending = try trace.appendBranches()
    var times: [Double] = []
    for _ in 0..<repeats {
        var copy = pending
        times.append(try time { try copy.mergePendingEvents(since: []); _ = copy.text() })
        precondition(copy.text() == trace.endContent)
    }
    print("merge only", times.sorted()[times.count / 2])
}
