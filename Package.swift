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
        .library(name: "SporWire", targets: ["SporWire"]),
        .library(name: "SporWireClient", targets: ["SporWireClient"]),
        .library(name: "SporServer", targets: ["SporServer"]),
        .library(name: "SporClient", targets: ["SporClient"]),
        .executable(name: "spor", targets: ["spor"]),
        .executable(name: "spor-server", targets: ["spor-server"]),
        .executable(name: "spor-bench", targets: ["spor-bench"]),
        .executable(name: "spor-loadgen", targets: ["spor-loadgen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/JohnSundell/Ink", from: "0.6.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/drmohundro/SWXMLHash", from: "8.1.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // zlib (crc32, deflate/inflate) from the system: `libz` / Debian's zlib1g-dev.
        // Not named CZlib: ZIPFoundation brings a module of that name.
        .systemLibrary(
            name: "CSystemZlib",
            path: "Sources/CSystemZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The event graph, versions, CRDT containers and their binary encoding.
        // Pure Swift: no Foundation, no I/O.
        .target(
            name: "SporCRDT",
            dependencies: [
                "CSystemZlib",
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: optimisedInDebug
        ),
        // The klimaudviklingsspor proposal on SporCRDT's containers: schema, rules,
        // rounds and deadlines, submissions. No I/O.
        .target(
            name: "SporProposal",
            dependencies: [
                "SporCRDT",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // A proposal for people: Markdown, print-ready HTML and Word (.docx) exports
        // from one layout, section Markdown rendered safely, and .docx import.
        .target(
            name: "SporDocuments",
            dependencies: [
                "SporCRDT",
                "SporProposal",
                .product(name: "Ink", package: "Ink"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "SWXMLHash", package: "SWXMLHash"),
            ],
            swiftSettings: strictSettings
        ),
        // Protocol v1: messages and the length-prefixed framing codec (Protocol/SPEC.md).
        .target(
            name: "SporWire",
            dependencies: [
                "SporCRDT",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // A client's protocol v1 connection over TCP or TLS (frames in, frames out).
        .target(
            name: "SporWireClient",
            dependencies: [
                "SporWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // The sync relay as a library: storage (GRDB/SQLite), accounts and access,
        // connections, limits, metrics.
        .target(
            name: "SporServer",
            dependencies: [
                "CHeapInfo",
                "CSQLiteOptions",
                "SporCRDT",
                "SporProposal",
                "SporWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSettings
        ),
        // The secretariat's and members' web overview, served by spor-server --web:
        // login, the round's table, a proposal's page and its downloads (Hummingbird,
        // server-rendered Mustache templates, no JavaScript).
        .target(
            name: "SporWeb",
            dependencies: [
                "SporServer",
                "SporDocuments",
                "SporProposal",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "spor-server",
            dependencies: [
                "SporServer",
                "SporWeb",
                "SporProposal",
                "SporWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "server/spor-server",
            swiftSettings: strictSettings
        ),
        // SQLite calls Swift cannot make itself (a variadic C call) or GRDB does not
        // expose (the library's memory use).
        .target(name: "CSQLiteOptions", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The client library: the workspace (a local SQLite replica with an outbox)
        // and the sync engine.
        .target(
            name: "SporClient",
            dependencies: [
                "CSQLiteOptions",
                "SporCRDT",
                "SporDocuments",
                "SporProposal",
                "SporWire",
                "SporWireClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // `spor`, the offline editor.
        .executableTarget(
            name: "spor",
            dependencies: [
                "SporClient",
                "SporDocuments",
                "SporProposal",
                "SporCRDT",
                "SporWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "client/spor",
            swiftSettings: strictSettings
        ),
        // Reading the editing-trace files (../shared/traces format) for tests and benchmarks.
        .target(
            name: "SporTraces",
            dependencies: ["CSystemZlib", "SporCRDT"],
            swiftSettings: optimisedInDebug
        ),
        // glibc's heap statistics: spor-bench's memory measurement and the server's
        // memory gauges.
        .target(name: "CHeapInfo"),
        // Workloads the benchmarks share: a large realistic proposal history.
        .target(
            name: "SporWorkloads",
            dependencies: ["SporCRDT", "SporProposal"],
            path: "Benchmarks/SporWorkloads",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "spor-bench",
            dependencies: [
                "CHeapInfo",
                "SporWorkloads",
                "SporClient",
                "SporCRDT",
                "SporDocuments",
                "SporProposal",
                "SporTraces",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/spor-bench",
            swiftSettings: strictSettings
        ),
        // Load generator for spor-server: connections, pushes, relay latency, catch-up.
        .executableTarget(
            name: "spor-loadgen",
            dependencies: [
                "SporWorkloads",
                "SporClient",
                "SporCRDT",
                "SporProposal",
                "SporServer",
                "SporTraces",
                "SporWire",
                "SporWireClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Benchmarks/spor-loadgen",
            swiftSettings: strictSettings
        ),
        // Seeded randomness for the property tests of every test target, process and
        // CLI drivers, shared fixtures.
        .target(
            name: "SporTestSupport",
            dependencies: ["SporCRDT"],
            path: "Tests/SporTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SporProposalTests",
            dependencies: ["SporProposal", "SporDocuments", "SporCRDT", "SporTestSupport",
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                           .product(name: "SWXMLHash", package: "SWXMLHash")],
            resources: [.copy("Golden")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SporWireTests",
            dependencies: ["SporWire", "SporCRDT", "SporTestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SporServerTests",
            dependencies: [
                "SporServer", "SporWire", "SporWireClient", "SporCRDT", "SporProposal", "SporTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: strictSettings
        ),
        // The web overview over HTTP (sessions, CSRF, access) and in a real headless
        // Chromium driven through chromium-driver (WebDriver).
        .testTarget(
            name: "SporWebTests",
            dependencies: [
                "SporWeb", "SporServer", "SporProposal", "SporDocuments", "SporCRDT", "SporTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SporClientTests",
            dependencies: [
                "SporClient", "SporCRDT", "SporDocuments", "SporProposal", "SporWire", "SporTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [.copy("Golden")],
            swiftSettings: strictSettings
        ),
        // The whole system as deployed: real spor-server and spor processes, killed,
        // cut off and attacked (docs/RELIABILITY.md).
        .testTarget(
            name: "SporSystemTests",
            dependencies: [
                "SporClient", "SporCRDT", "SporProposal", "SporWire", "SporWireClient", "SporTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
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
