// swift-tools-version: 6.2
//
// Spor — a collaborative, offline-first proposal workspace for Klimaalliancen's
// klimaudviklingsspor. See README.md and ../shared/DESIGN.md for the architecture.

import PackageDescription

/// Settings every Spor target shares: Swift 6 language mode (strict concurrency) and
/// warnings treated as errors, so CI fails on the first new warning.
let strictSettings: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
]

/// The CRDT core is compiled optimised even in debug builds: the test suite replays
/// real editing traces of up to a million events, which unoptimised generic B-tree
/// code runs 30-50x slower. Tests still build in debug and use `@testable import`.
let optimisedInDebug: [SwiftSetting] = strictSettings + [
    .unsafeFlags(["-O", "-enable-testing"], .when(configuration: .debug)),
]

let package = Package(
    name: "Spor",
    products: [
        .library(name: "SporCRDT", targets: ["SporCRDT"]),
        .library(name: "SporProposal", targets: ["SporProposal"]),
        .executable(name: "spor-bench", targets: ["spor-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // zlib (crc32, deflate/inflate) from the system: `libz` / Debian's zlib1g-dev.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The event graph, versions, CRDT containers and their binary encoding.
        // Pure Swift: no Foundation, no I/O.
        .target(
            name: "SporCRDT",
            dependencies: [
                "CZlib",
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: optimisedInDebug
        ),
        // The klimaudviklingsspor proposal on SporCRDT's containers: schema, rules,
        // rounds and deadlines, submissions, export. No I/O.
        .target(
            name: "SporProposal",
            dependencies: [
                "SporCRDT",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // Reading the editing-trace files (../shared/traces format) for tests and benchmarks.
        .target(
            name: "SporTraces",
            dependencies: ["CZlib", "SporCRDT"],
            swiftSettings: optimisedInDebug
        ),
        // glibc's heap statistics for spor-bench's memory measurement.
        .target(name: "CHeapInfo", path: "Benchmarks/CHeapInfo"),
        .executableTarget(
            name: "spor-bench",
            dependencies: [
                "CHeapInfo",
                "SporCRDT",
                "SporProposal",
                "SporTraces",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/spor-bench",
            swiftSettings: strictSettings
        ),
        // Seeded randomness for the property tests of every test target.
        .target(
            name: "SporTestSupport",
            path: "Tests/SporTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SporProposalTests",
            dependencies: ["SporProposal", "SporCRDT", "SporTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Golden")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SporCRDTTests",
            dependencies: ["SporCRDT", "SporTraces", "SporTestSupport"],
            resources: [.copy("Resources")],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
