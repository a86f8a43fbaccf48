import ChainIO
import Foundation
import Testing
import TestSupport

/// `mixmc sample`'s default `--algorithm auto` end to end: the header names the sampler chosen
/// and why, the files are those of the sampler named explicitly, and a design whose blocked
/// factor is over the budget is sampled by collapsed Gibbs while the blocked sampler, NUTS and the
/// REML fit refuse it before starting.
@Suite struct SampleAutoCommandTests {
    static func quickRun(_ model: String, output: URL, extra: [String] = []) throws -> CommandResult {
        try runMixmc(["sample", model, "--chains", "2", "--warmup", "20", "--draws", "20", "--seed", "3", "--quiet",
                      "--output", output.path] + extra)
    }

    /// sim_crossed: collapsed Gibbs, named with its figures; the chains are byte for byte those
    /// of `--algorithm collapsed-gibbs` (timing and file lines aside).
    @Test func crossedScalarTermsRunCollapsedGibbs() throws {
        let auto = try SampleCommandTests.temporaryDirectory("auto")
        let named = try SampleCommandTests.temporaryDirectory("auto-named")
        defer { for url in [auto, named] { try? FileManager.default.removeItem(at: url) } }
        let result = try Self.quickRun("models/sim_crossed", output: auto)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardError.contains("sampler: collapsed Gibbs, chosen by --algorithm auto: every term is scalar and a collapsed sweep reads the 30000 rows 2 times (about "),
                "stderr: \(result.standardError)")
        #expect(result.standardError.contains("a blocked sweep factorizes a dense part of order 153 (about "))
        let explicit = try Self.quickRun("models/sim_crossed", output: named, extra: ["--algorithm", "collapsed-gibbs"])
        #expect(explicit.status == 0, "stderr: \(explicit.standardError)")
        #expect(!explicit.standardError.contains("chosen by --algorithm auto"))
        for id in 1...2 {
            #expect(try SampleCommandTests.reproducibleContent(auto.appendingPathComponent("chain-\(id).csv"))
                    == SampleCommandTests.reproducibleContent(named.appendingPathComponent("chain-\(id).csv")))
        }
    }

    /// sleepstudy: blocked Gibbs, the only one for its vector term; `--algorithm gibbs` named on
    /// sim_crossed notes what auto would run.
    @Test func vectorTermRunsBlockedGibbsAndANamedGibbsRunIsTold() throws {
        let output = try SampleCommandTests.temporaryDirectory("auto-blocked")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Self.quickRun("models/sleepstudy", output: output)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardError.contains("sampler: blocked Gibbs, chosen by --algorithm auto: a random-effects term has more than one coefficient, which only the blocked sampler handles"),
                "stderr: \(result.standardError)")
        let named = try Self.quickRun("models/sim_crossed", output: output, extra: ["--algorithm", "gibbs", "--overwrite"])
        #expect(named.status == 0, "stderr: \(named.standardError)")
        #expect(named.standardError.contains("note: --algorithm auto (the default) would run collapsed Gibbs here: every term is scalar"),
                "stderr: \(named.standardError)")
    }

    /// Two crossed factors of 8,000 and 4,000 levels (48,000 rows): the blocked factor's dense
    /// part of order 4,003 is over the budget. `--algorithm gibbs`, `--algorithm nuts` and
    /// `mixmc fit` refuse before writing anything, naming collapsed Gibbs; the default runs it.
    @Test func overBudgetDesignIsRefusedByTheBlockedPathsAndRunByAuto() throws {
        let directory = try SampleCommandTests.temporaryDirectory("auto-budget")
        defer { try? FileManager.default.removeItem(at: directory) }
        var text = "y,x,g,h\n"
        var state: UInt64 = 14
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33)
        }
        for row in 0..<48_000 {
            // Every level of both factors present: the dense part is exactly 4,000 + 3.
            let g = row % 8000, h = row < 4000 ? row : next() % 4000
            let x = Double(next() % 4000) / 1000 - 2
            text += "\(1 + 0.5 * x + Double(next() % 1000) / 500 - 1),\(x),\(g),\(h)\n"
        }
        let data = directory.appendingPathComponent("crossed.csv")
        try text.write(to: data, atomically: true, encoding: .utf8)
        let model = ["--data", data.path, "--formula", "y ~ 1 + x + (1 | g) + (1 | h)"]

        for algorithm in ["gibbs", "nuts"] {
            let target = directory.appendingPathComponent("not-created-\(algorithm)")
            let refused = try runMixmc(["sample"] + model + ["--algorithm", algorithm, "--chains", "1", "--draws", "5",
                                                             "--seed", "1", "--quiet", "--output", target.path])
            #expect(refused.status == 1)
            #expect(refused.standardError.contains("would have a dense part of 4003 x 4003"), "stderr: \(refused.standardError)")
            #expect(refused.standardError.contains("--algorithm collapsed-gibbs"), "stderr: \(refused.standardError)")
            #expect(!FileManager.default.fileExists(atPath: target.path))
        }
        let fit = try runMixmc(["fit"] + model)
        #expect(fit.status == 1)
        #expect(fit.standardError.contains("the REML/ML fit cannot run this model: its blocked Cholesky factor would have a dense part of 4003 x 4003"),
                "stderr: \(fit.standardError)")

        let output = directory.appendingPathComponent("chains")
        let result = try runMixmc(["sample"] + model + ["--chains", "2", "--warmup", "10", "--draws", "10", "--seed", "1", "--quiet",
                                                        "--output", output.path])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardError.contains("sampler: collapsed Gibbs, chosen by --algorithm auto: every term is scalar and the blocked sampler cannot run it: its blocked Cholesky factor would have a dense part of 4003 x 4003"),
                "stderr: \(result.standardError)")
        let chain = try StanCSVReader.read(url: output.appendingPathComponent("chain-1.csv"))
        #expect(chain.drawCount == 10)
        #expect(chain.columnNames.count == 1 + 2 + 1 + 2 + 8000 + 4000)
    }
}
