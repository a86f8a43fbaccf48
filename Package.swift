// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "mixmc",
    products: [
        .executable(name: "mixmc", targets: ["mixmc"]),
        .library(name: "MixmcCore", targets: ["Linalg", "ModelSpec", "PenalizedLS", "ChainIO", "Diagnostics", "Samplers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C libraries: OpenBLAS linked before GSL so every cblas_* binds to OpenBLAS (docs/decisions.md).
        .systemLibrary(name: "CNumerics", pkgConfig: "openblas",
                       providers: [.apt(["libgsl-dev", "libopenblas-dev", "liblapacke-dev", "libnlopt-dev"])]),

        // The Swift runtime's allocation-free double printer, declared for ChainIO's number format.
        .systemLibrary(name: "CFloatText"),

        // exp and log1p four at a time (glibc's libmvec) for the samplers' comparisons.
        .target(name: "CVectorMath", linkerSettings: [.linkedLibrary("mvec"), .linkedLibrary("m")]),

        // Library modules, in dependency order.
        .target(name: "Linalg", dependencies: ["CNumerics"]),
        .target(name: "ModelSpec", dependencies: ["Linalg", "CNumerics", "TOMLKit"]),
        .target(name: "PenalizedLS", dependencies: ["ModelSpec", "Linalg", "CNumerics"]),
        .target(name: "ChainIO", dependencies: ["CFloatText"]),
        .target(name: "Diagnostics", dependencies: ["ChainIO", "PenalizedLS", "ModelSpec", "CNumerics"]),
        .target(name: "Samplers", dependencies: ["ModelSpec", "Linalg", "CNumerics", "CVectorMath"]),

        // The command-line tool.
        .executableTarget(name: "mixmc", dependencies: [
            "Linalg", "ModelSpec", "PenalizedLS", "ChainIO", "Diagnostics", "Samplers",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks (Benchmarks/README.md).
        .executableTarget(name: "NUTSNormal100", dependencies: ["Samplers", "TestSupport"], path: "Benchmarks/NUTSNormal100"),
        .executableTarget(name: "CrossedCollapsedGibbs", dependencies: ["Samplers", "ModelSpec", "Diagnostics", "Linalg", "CNumerics"], path: "Benchmarks/CrossedCollapsedGibbs"),
        .executableTarget(name: "CollapsedGradient", dependencies: ["ModelSpec", "PenalizedLS", "CNumerics"], path: "Benchmarks/CollapsedGradient"),
        .executableTarget(name: "GibbsScaling", dependencies: ["Samplers", "ModelSpec", "CNumerics"], path: "Benchmarks/GibbsScaling"),
        .executableTarget(name: "PolyaGammaDraws", dependencies: ["Samplers"], path: "Benchmarks/PolyaGammaDraws"),
        .executableTarget(name: "BinaryGibbsScaling", dependencies: ["Samplers", "ModelSpec", "CNumerics"], path: "Benchmarks/BinaryGibbsScaling"),
        .executableTarget(name: "CSVRead", dependencies: ["ModelSpec"], path: "Benchmarks/CSVRead"),

        // Tests.
        .target(name: "TestSupport", dependencies: ["ModelSpec"], path: "Tests/TestSupport"),
        .testTarget(name: "LinalgTests", dependencies: ["Linalg", "TestSupport"]),
        .testTarget(name: "ModelSpecTests", dependencies: ["ModelSpec", "TestSupport"]),
        .testTarget(name: "PenalizedLSTests", dependencies: ["PenalizedLS", "ModelSpec", "TestSupport"]),
        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics", "ChainIO", "TestSupport"]),
        .testTarget(name: "ChainIOTests", dependencies: ["ChainIO", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["ChainIO", "Diagnostics", "ModelSpec", "TestSupport"]),
        .testTarget(name: "SamplersTests", dependencies: ["Samplers", "CVectorMath", "TestSupport"]),
        .testTarget(name: "PriorsTests", dependencies: ["ModelSpec", "TestSupport"]),
        .testTarget(name: "GibbsTests", dependencies: ["Samplers", "ModelSpec", "Diagnostics", "TestSupport"]),
        .testTarget(name: "CompareTests", dependencies: ["Diagnostics", "PenalizedLS", "ModelSpec", "ChainIO", "CNumerics", "TestSupport"]),
        .testTarget(name: "PosteriorTests", dependencies: ["ModelSpec", "Samplers", "TestSupport"]),
        .testTarget(name: "CalibrationTests", dependencies: ["Samplers", "ModelSpec", "Diagnostics", "TestSupport"]),
        .testTarget(name: "NUTSCalibrationTests", dependencies: ["Samplers", "ModelSpec", "PenalizedLS", "TestSupport"]),
    ]
)
