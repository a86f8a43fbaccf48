import Foundation

/// Files under `Tests/Fixtures/` and the repository's `models/`, located from this source file so
/// tests run from any working directory.
public enum Fixtures {
    public static let testsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
    public static let repositoryRoot = testsDirectory.deletingLastPathComponent()
    public static let directory = testsDirectory.appendingPathComponent("Fixtures")

    public static func url(_ relativePath: String) -> URL {
        directory.appendingPathComponent(relativePath)
    }

    public static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: url(relativePath), encoding: .utf8)
    }

    public static func json(_ relativePath: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(relativePath)), options: [.fragmentsAllowed])
    }

    /// The path of the `mixmc` executable that `swift build` placed beside the test bundle.
    public static var mixmcExecutable: URL {
        let bundle = Bundle.main.bundleURL
        for candidate in [bundle.appendingPathComponent("mixmc"), bundle.deletingLastPathComponent().appendingPathComponent("mixmc")] {
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return bundle.deletingLastPathComponent().appendingPathComponent("mixmc")
    }
}
