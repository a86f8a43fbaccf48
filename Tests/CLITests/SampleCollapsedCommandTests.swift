import ChainIO
import Foundation
import Testing
import TestSupport

/// `mixmc sample --algorithm collapsed-gibbs` end to end on models/sim_crossed.
@Suite struct SampleCollapsedCommandTests {
    static func run(_ algorithm: String, output: URL, extra: [String] = []) throws -> CommandResult {
        try runMixmc(["sample", "models/sim_crossed", "--algorithm", algorithm, "--chains", "2", "--warmup", "100",
                      "--draws", "100", "--seed", "1", "--quiet", "--output", output.path] + extra)
    }

    /// Chain files read back with the columns of `--algorithm gibbs`, CmdStan's `algorithm = gibbs`
    /// with a comment naming the sampler, posterior means near the simulation's truth
    /// (β = (1, 0.5)), and the same seed gives the same bytes (timing and file lines aside).
    @Test func sampleRunsWithTheGibbsColumnsAndIsReproducible() throws {
        let collapsed = try SampleCommandTests.temporaryDirectory("collapsed")
        let again = try SampleCommandTests.temporaryDirectory("collapsed-again")
        let blocked = try SampleCommandTests.temporaryDirectory("collapsed-blocked")
        defer { for url in [collapsed, again, blocked] { try? FileManager.default.removeItem(at: url) } }
        let result = try Self.run("collapsed-gibbs", output: collapsed)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let blockedResult = try Self.run("gibbs", output: blocked)
        #expect(blockedResult.status == 0, "stderr: \(blockedResult.standardError)")
        let repeated = try Self.run("collapsed-gibbs", output: again)
        #expect(repeated.status == 0, "stderr: \(repeated.standardError)")

        for id in 1...2 {
            let file = "chain-\(id).csv"
            let chain = try StanCSVReader.read(url: collapsed.appendingPathComponent(file))
            let reference = try StanCSVReader.read(url: blocked.appendingPathComponent(file))
            #expect(chain.columnNames == reference.columnNames)
            #expect(chain.columnNames.count == 1 + 2 + 1 + 2 + 200 + 150)
            #expect(chain.drawCount == 100)
            #expect(chain.config["algorithm"] == "gibbs")
            #expect(chain.draws.allSatisfy { $0.allSatisfy(\.isFinite) })
            let text = try String(contentsOf: collapsed.appendingPathComponent(file), encoding: .utf8)
            #expect(text.contains("# mixmc collapsed Gibbs sampler for crossed random intercepts (Papaspiliopoulos, Roberts & Zanella 2020)"))
            #expect(try SampleCommandTests.reproducibleContent(collapsed.appendingPathComponent(file))
                    == SampleCommandTests.reproducibleContent(again.appendingPathComponent(file)))
            // β near the truth (1, 0.5) within 4 posterior SDs.
            for (name, truth) in [("b_Intercept", 1.0), ("b_x", 0.5)] {
                let draws = try #require(chain.column(name))
                let sd = MonteCarlo.variance(draws).squareRoot()
                #expect(abs(MonteCarlo.mean(draws) - truth) < 4 * sd, "\(name): mean \(MonteCarlo.mean(draws)), sd \(sd)")
            }
        }
        #expect(try Data(contentsOf: collapsed.appendingPathComponent("labels.json"))
                == Data(contentsOf: blocked.appendingPathComponent("labels.json")))
    }

    /// A model with a vector term is refused, the message naming the term.
    @Test func vectorTermIsRefused() throws {
        let output = try SampleCommandTests.temporaryDirectory("collapsed-refused")
        defer { try? FileManager.default.removeItem(at: output) }
        let target = output.appendingPathComponent("not-created")
        let result = try runMixmc(["sample", "models/sleepstudy", "--algorithm", "collapsed-gibbs", "--chains", "1",
                                   "--draws", "10", "--seed", "1", "--quiet", "--output", target.path])
        #expect(result.status != 0)
        #expect(result.standardError.contains("the collapsed Gibbs sampler needs every random-effects term to be a single coefficient"),
                "stderr: \(result.standardError)")
        #expect(result.standardError.contains("(1 + Days | Subject) has 2"), "stderr: \(result.standardError)")
        // Refused before anything is written: not even the output directory.
        #expect(!FileManager.default.fileExists(atPath: target.path))
    }
}
