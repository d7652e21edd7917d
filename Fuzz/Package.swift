// swift-tools-version: 6.2
//
// libFuzzer targets for Spor's protocol v1 decoder and for change batches past the
// checksum (decoded and merged). A separate package because a
// fuzz target has no `main` of its own (libFuzzer provides it), which the main
// package's ordinary builds could not link. See README.md ("Fuzzing the decoder").

import PackageDescription

let package = Package(
    name: "SporFuzz",
    dependencies: [
        .package(name: "Spor", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "spor-wire-fuzz",
            dependencies: [
                .product(name: "SporWire", package: "Spor"),
                .product(name: "SporCRDT", package: "Spor"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "spor-batch-fuzz",
            dependencies: [.product(name: "SporCRDT", package: "Spor")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
