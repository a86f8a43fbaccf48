import ChainIO
import Diagnostics
import Foundation
import Testing
import TestSupport

/// `mixmc sample --algorithm nuts` end to end: the built executable on models/sleepstudy.
@Suite struct SampleNUTSCommandTests {
    static let samplerColumns = ["lp__", "accept_stat__", "stepsize__", "treedepth__", "n_leapfrog__", "divergent__", "energy__"]
    static let parameterColumns = ["b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept", "sd_Subject__Days",
                                   "cor_Subject__Intercept__Days"]
    static let groupLevelColumns = (1...2).flatMap { c in (1...18).map { h in "r_Subject.\(h).\(c)" } }

    static func sample(_ output: URL, _ flags: [String]) throws -> CommandResult {
        try runMixmc(["sample", "models/sleepstudy", "--quiet", "--output", output.path] + flags)
    }

    static func read(_ output: URL, chains: ClosedRange<Int>) throws -> [StanCSVChain] {
        try chains.map { try StanCSVReader.read(url: output.appendingPathComponent("chain-\($0).csv")) }
    }

    /// Unconstrained coordinates of sleepstudy's (Days | Subject) model per target.
    static let coordinateCounts = ["collapsed": 6, "marginal": 4, "full": 42]

    @Test(arguments: ["collapsed", "marginal", "full"])
    func chainsReadBackWithSamplerColumnsAndTheAdaptationBlock(target: String) throws {
        let output = try SampleCommandTests.temporaryDirectory("nuts-\(target)")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Self.sample(output, ["--algorithm", "nuts", "--target", target, "--chains", "2",
                                              "--warmup", "300", "--draws", "300", "--seed", "1"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardError.contains("NUTS on the \(target) log-posterior (\(Self.coordinateCounts[target]!) coordinates), metric diag_e"))
        for (id, chain) in try Self.read(output, chains: 1...2).enumerated() {
            #expect(chain.columnNames == Self.samplerColumns + Self.parameterColumns + Self.groupLevelColumns)
            #expect(chain.drawCount == 300)
            #expect(chain.config["algorithm"] == "hmc" && chain.config["engine"] == "nuts")
            #expect(chain.config["max_depth"] == "10" && chain.config["metric"] == "diag_e" && chain.config["delta"] == "0.8")
            #expect(chain.config["id"] == String(id + 1) && chain.config["seed"] == "1" && chain.config["engaged"] == "1")
            let adaptation = try #require(chain.adaptation)
            guard case .diagonal(let inverseMass) = adaptation.metric else {
                Issue.record("expected a diagonal metric, got \(adaptation.metric)")
                continue
            }
            #expect(inverseMass.count == Self.coordinateCounts[target]! && inverseMass.allSatisfy { $0 > 0 })
            // Every sampling draw used the adapted step size, with Stan's integer-valued columns.
            #expect(chain.column("stepsize__")!.allSatisfy { $0 == adaptation.stepSize })
            let depths = chain.column("treedepth__")!
            let steps = chain.column("n_leapfrog__")!
            #expect(zip(depths, steps).allSatisfy { depth, steps in
                depth >= 0 && depth <= 10 && steps >= 1 && steps <= pow(2, depth + 1) - 1 && depth == depth.rounded()
            })
            #expect(chain.column("divergent__")!.allSatisfy { $0 == 0 || $0 == 1 })
            #expect(chain.column("accept_stat__")!.allSatisfy { $0 >= 0 && $0 <= 1 })
            #expect(chain.draws.allSatisfy { $0.allSatisfy(\.isFinite) })
            #expect(chain.timing != nil)
        }
        // The summary reports the sampler's health per chain.
        #expect(result.standardOutput.contains("Divergences: "), "stdout: \(result.standardOutput)")
        #expect(result.standardOutput.contains("Tree depth 10 reached: "))
        #expect(result.standardOutput.contains("E-BFMI per chain: "))
        #expect(result.standardOutput.contains("Gradient evaluations: "))

        // `mixmc diagnose` reads our NUTS files: the sampler statistics come from their columns,
        // the means from the draws (checked here against the draws read directly).
        let diagnosed = try runMixmc(["diagnose", "--json", output.path])
        #expect(diagnosed.status == 0, "stderr: \(diagnosed.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(diagnosed.standardOutput.utf8)) as? [String: Any])
        #expect(object["chains"] as? Int == 2 && object["draws_per_chain"] as? Int == 300)
        let chains = try Self.read(output, chains: 1...2)
        let divergences = chains.reduce(0.0) { $0 + $1.column("divergent__")!.reduce(0, +) }
        #expect(object["divergences"] as? Int == Int(divergences))
        let parameters = try #require(object["parameters"] as? [[String: Any]])
        #expect(parameters.map { $0["name"] as? String } == ["lp__"] + Self.parameterColumns)
        let days = try #require(parameters.first { $0["name"] as? String == "b_Days" })
        let draws = chains.flatMap { $0.column("b_Days")! }
        let mean = draws.reduce(0, +) / Double(draws.count)
        #expect(isClose(days["mean"] as? Double ?? .nan, mean, relative: 1e-12))
        #expect((days["rhat"] as? Double).map { $0 > 0.99 && $0 < 1.1 } == true)
    }

    @Test func sameSeedGivesTheSameBytesAndOneChainAloneReproducesIt() throws {
        for target in ["collapsed", "marginal", "full"] {
            let first = try SampleCommandTests.temporaryDirectory("nuts-a")
            let second = try SampleCommandTests.temporaryDirectory("nuts-b")
            let single = try SampleCommandTests.temporaryDirectory("nuts-c")
            defer { for url in [first, second, single] { try? FileManager.default.removeItem(at: url) } }
            let common = ["--algorithm", "nuts", "--target", target, "--warmup", "100", "--draws", "50", "--seed", "2024"]
            for output in [first, second] {
                let result = try Self.sample(output, common + ["--chains", "2"])
                #expect(result.status == 0, "stderr: \(result.standardError)")
            }
            let alone = try Self.sample(single, common + ["--chain", "2"])
            #expect(alone.status == 0, "stderr: \(alone.standardError)")
            try SampleCommandTests.expectReproducible(first: first, second: second, chainTwoAlone: single)
        }
    }

    @Test func denseMetricAndSettingsAreWrittenAsCmdStanWritesThem() throws {
        let output = try SampleCommandTests.temporaryDirectory("nuts-dense")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Self.sample(output, ["--algorithm", "nuts", "--metric", "dense", "--adapt-delta", "0.9",
                                              "--max-depth", "8", "--chain", "1", "--warmup", "200", "--draws", "100",
                                              "--seed", "3"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let chain = try Self.read(output, chains: 1...1)[0]
        #expect(chain.config["metric"] == "dense_e" && chain.config["delta"] == "0.9" && chain.config["max_depth"] == "8")
        let text = try String(contentsOf: output.appendingPathComponent("chain-1.csv"), encoding: .utf8)
        #expect(text.contains("#         metric = dense_e\n") && text.contains("#             max_depth = 8\n"))
        #expect(text.contains("#       delta = 0.9\n"))
        guard case .dense(let rows)? = chain.adaptation?.metric else {
            Issue.record("expected a dense metric, got \(String(describing: chain.adaptation))")
            return
        }
        #expect(rows.count == 6 && rows.allSatisfy { $0.count == 6 })
        // Symmetric up to rounding: Stan's Welford cross-products, Σ (x_i − m_i new)(x_j − m_j old),
        // are not bit-symmetric in floating point (nor are Stan's own dense metrics).
        for r in 0..<6 { for c in 0..<6 {
            #expect(abs(rows[r][c] - rows[c][r]) <= 1e-12 * (rows[r][r] * rows[c][c]).squareRoot())
        } }
        #expect(chain.column("treedepth__")!.allSatisfy { $0 <= 8 })
    }
}
