/// A deterministic random number generator (SplitMix64) for property tests.
///
/// Every property test prints its seed; a failure is replayed by running the test
/// with `SPOR_SEED=<seed>` (see ``propertySeeds(default:)``).
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seeds a property test runs with: `SPOR_SEED` alone when it is set (to replay a
/// failure), otherwise `count` fixed seeds derived from `base`, so every CI run tests
/// the same cases.
public func propertySeeds(_ count: Int, base: UInt64) -> [UInt64] {
    if let text = getenvString("SPOR_SEED"), let seed = UInt64(text) { return [seed] }
    return (0..<UInt64(count)).map { base &+ $0 &* 0x1000_0000_0001 }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
