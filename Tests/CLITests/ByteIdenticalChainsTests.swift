import Foundation
import Testing
import TestSupport

/// Issue 14: how the data reach the design (which columns a file holds and in what order, its
/// line ends) must not move a single draw. Every example model is sampled with its algorithm
/// named, once from its own data.csv and once from a copy with the columns in reverse order and
/// CRLF line ends; `cmp` finds the chain files equal byte for byte but for the lines that name
/// the data file and the timings. (That the cross-products, from which every chain starts, are
/// the sums a plain pass in file order gives, to the bit, is CrossProductsTests'.)
@Suite struct ByteIdenticalChainsTests {
    struct Run: CustomTestStringConvertible, Sendable {
        var model: String
        var algorithm: String
        var testDescription: String { "\(model) --algorithm \(algorithm)" }
    }

    static let runs: [Run] = [
        Run(model: "sleepstudy", algorithm: "gibbs"), Run(model: "sleepstudy", algorithm: "nuts"),
        Run(model: "dyestuff", algorithm: "gibbs"), Run(model: "penicillin", algorithm: "collapsed-gibbs"),
        Run(model: "pastes", algorithm: "gibbs"), Run(model: "sim_medium", algorithm: "gibbs"),
        Run(model: "sim_crossed", algorithm: "collapsed-gibbs"),
        Run(model: "insteval", algorithm: "gibbs"), Run(model: "cbpp", algorithm: "gibbs"),
        Run(model: "grouseticks", algorithm: "gibbs"), Run(model: "verbagg", algorithm: "gibbs"),
    ]

    @Test func everyExampleModelIsCovered() {
        #expect(Set(Self.runs.map(\.model)) == Set((ExampleModelsTests.examples + ExampleModelsTests.generalizedExamples).map(\.name)))
    }

    /// `data.csv` with its columns in reverse order and CRLF line ends (the example files quote
    /// no commas, so splitting at commas splits their fields).
    static func rewrittenCopy(of model: String, into directory: URL) throws -> URL {
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("models/\(model)/data.csv"), encoding: .utf8)
        let lines = text.split(whereSeparator: \.isNewline)
        let width = lines[0].split(separator: ",", omittingEmptySubsequences: false).count
        let reversed = try lines.map { line -> String in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == width else { throw CocoaError(.fileReadCorruptFile) }
            return fields.reversed().joined(separator: ",")
        }
        let url = directory.appendingPathComponent("\(model)-reversed.csv")
        try (reversed.joined(separator: "\r\n") + "\r\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// The chain without the lines that name files (the data, the output) or hold timings.
    static func comparable(_ chain: URL, as copy: URL) throws {
        let lines = try String(contentsOf: chain, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let kept = lines.filter { !$0.contains("file = ") && !$0.contains("Elapsed") && !$0.contains("seconds") }
        try kept.joined(separator: "\n").write(to: copy, atomically: true, encoding: .utf8)
    }

    @Test(arguments: runs)
    func chainsDoNotDependOnHowTheFileIsLaidOut(_ run: Run) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-identical-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = try Self.rewrittenCopy(of: run.model, into: directory)
        let common = ["sample", "models/\(run.model)", "--algorithm", run.algorithm, "--seed", "7", "--chains", "2",
                      "--warmup", "10", "--draws", "10", "--quiet", "--overwrite"]
        for (name, extra) in [("original", []), ("rewritten", ["--data", copy.path])] {
            let result = try runMixmc(common + extra + ["--output", directory.appendingPathComponent(name).path])
            #expect(result.status == 0, "\(name): \(result.standardError)")
        }
        for chain in ["chain-1.csv", "chain-2.csv"] {
            let original = directory.appendingPathComponent("original-\(chain)")
            let rewritten = directory.appendingPathComponent("rewritten-\(chain)")
            try Self.comparable(directory.appendingPathComponent("original/\(chain)"), as: original)
            try Self.comparable(directory.appendingPathComponent("rewritten/\(chain)"), as: rewritten)
            let cmp = Process()
            cmp.executableURL = URL(fileURLWithPath: "/usr/bin/cmp")
            cmp.arguments = [original.path, rewritten.path]
            try cmp.run()
            cmp.waitUntilExit()
            #expect(cmp.terminationStatus == 0, "\(run.model) \(run.algorithm) \(chain): cmp found a difference")
        }
    }
}
