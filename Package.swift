// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "velora",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "velora", targets: ["velora"]),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(name: "CVeloraShim"),
        .target(name: "VeloraEvents", dependencies: ["CZlib"]),
        .target(name: "VeloraReplay", dependencies: ["VeloraEvents"]),
        .target(name: "VeloraRunner", dependencies: ["VeloraEvents", "VeloraReplay", "CVeloraShim"]),
        .target(name: "VeloraCLI", dependencies: ["VeloraEvents", "VeloraReplay", "VeloraRunner"]),
        .executableTarget(name: "velora", dependencies: ["VeloraCLI"]),
        .executableTarget(name: "velora-bench", dependencies: ["VeloraEvents", "VeloraReplay", "VeloraRunner"]),
        .target(name: "VeloraTestSupport", dependencies: ["VeloraEvents", "VeloraReplay", "VeloraRunner", "VeloraCLI"],
                path: "Tests/VeloraTestSupport"),
        .testTarget(name: "VeloraEventsTests", dependencies: ["VeloraEvents", "VeloraTestSupport"]),
        .testTarget(name: "VeloraReplayTests", dependencies: ["VeloraReplay", "VeloraTestSupport"]),
        .testTarget(name: "VeloraRunnerTests", dependencies: ["VeloraRunner", "VeloraTestSupport"]),
        .testTarget(name: "VeloraCLITests", dependencies: ["VeloraCLI", "VeloraTestSupport"]),
        // The reliability suite (scripts/reliability): run apart from the rest, see scripts/test.
        .testTarget(name: "VeloraReliabilityTests", dependencies: ["VeloraCLI", "VeloraRunner", "VeloraTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
