import Foundation
import Testing
import ChainIO
import Diagnostics
import TestSupport

/// The per-run summary on the two-chain CmdStan-layout fixture, against what ArviZ 0.23.4 and
/// CmdStanPy computed from the same files (Tests/Fixtures/cmdstan/reference.json).
struct RunSummaryTests {
    static func chains() throws -> [StanCSVChain] {
        try ["cmdstan/sleepstudy-1.csv", "cmdstan/sleepstudy-2.csv"].map { try StanCSVReader.read(url: Fixtures.url($0)) }
    }

    static func reference() throws -> [String: Any] {
        try #require(Fixtures.json("cmdstan/reference.json") as? [String: Any])
    }

    @Test func parameterStatisticsMatchArviz() throws {
        let summary = try RunSummary(chains: Self.chains(), includeGroupLevel: true)
        let reference = try Self.reference()
        let expectedParameters = try #require(reference["parameters"] as? [String: [String: Double]])
        #expect(summary.chainCount == 2)
        #expect(summary.drawsPerChain == 100)
        #expect(Set(summary.parameters.map(\.name)) == Set(expectedParameters.keys))
        for parameter in summary.parameters {
            let expected = try #require(expectedParameters[parameter.name])
            let pairs: [(String, Double)] = [
                ("mean", parameter.mean), ("sd", parameter.standardDeviation), ("q5", parameter.q5),
                ("q50", parameter.q50), ("q95", parameter.q95), ("rhat", parameter.rhat),
                ("ess_bulk", parameter.essBulk), ("ess_tail", parameter.essTail),
                ("mcse_mean", parameter.mcseMean), ("mcse_sd", parameter.mcseSD),
            ]
            for (statistic, actual) in pairs {
                let value = try #require(expected[statistic])
                #expect(isClose(actual, value, relative: 1e-6), "\(parameter.name) \(statistic): \(actual) vs ArviZ \(value)")
            }
        }
    }

    @Test func samplerStatisticsMatchCmdStanPyAndArviz() throws {
        let summary = try RunSummary(chains: Self.chains())
        let reference = try Self.reference()
        #expect(summary.sampler.divergencesPerChain == (reference["cmdstanpy_divergences"] as? [Int]))
        #expect(summary.sampler.totalDivergences == 3)
        #expect(summary.sampler.maxDepth == 10)
        #expect(summary.sampler.treeDepthSaturationPerChain == (reference["cmdstanpy_max_treedepth_hits"] as? [Int]))
        let bfmi = try #require(reference["arviz_bfmi"] as? [Double])
        #expect(summary.sampler.energyBFMIPerChain.count == 2)
        for (actual, expected) in zip(summary.sampler.energyBFMIPerChain, bfmi) {
            #expect(isClose(actual, expected, relative: 1e-12))
        }
    }

    @Test func selectsParametersAndWarns() throws {
        let summary = try RunSummary(chains: Self.chains())
        #expect(summary.parameters.map(\.name) == ["lp__", "b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept"])
        #expect(summary.warnings.contains { $0.hasPrefix("3 of 200 transitions ended with a divergence (1.5%; chain 1: 1, chain 2: 2)") })
        #expect(summary.warnings.contains { $0.hasPrefix("2 of 200 transitions hit the maximum tree depth of 10") })
        // 200 draws cannot reach 100 ESS per chain for every parameter's tails.
        #expect(summary.warnings.contains { $0.hasPrefix("Tail ESS below 200 (100 per chain)") })
    }

    @Test func rejectsMismatchedColumns() throws {
        var chains = try Self.chains()
        chains[1].columnNames[8] = "b_Reaction"
        #expect(throws: RunSummaryError.self) { try RunSummary(chains: chains) }
        do {
            _ = try RunSummary(chains: chains)
        } catch let error as RunSummaryError {
            #expect(error.description.contains("sleepstudy-2.csv: columns differ from"))
            #expect(error.description.contains("missing b_Days"))
        }
    }

    @Test func lowEnergyBFMIWarns() throws {
        // An energy chain that is a slow random walk has almost no energy change per step.
        let energy = (0..<100).map { Double($0) }
        #expect(RunSummary.energyBFMI(energy) < SamplerStatistics.lowEnergyBFMI)
        let text = "lp__,energy__,x\n" + (0..<100).map { "\(-$0),\($0),\(sin(Double($0)))" }.joined(separator: "\n") + "\n"
        let chain = try StanCSVReader.read(text: text, path: "walk.csv")
        let summary = try RunSummary(chains: [chain])
        #expect(summary.warnings.contains { $0.hasPrefix("Chain 1: E-BFMI = ") })
    }

    @Test func constantParameterGivesNaNWithoutCrashing() throws {
        let text = "lp__,fixed\n" + (0..<10).map { "\(Double($0) * 0.37),2.5" }.joined(separator: "\n") + "\n"
        let chain = try StanCSVReader.read(text: text, path: "c.csv")
        let summary = try RunSummary(chains: [chain, chain])
        let fixed = try #require(summary.parameters.first { $0.name == "fixed" })
        #expect(fixed.rhat.isNaN && fixed.essBulk.isNaN && fixed.essTail.isNaN && fixed.mcseMean.isNaN && fixed.mcseSD.isNaN)
        #expect(fixed.mean == 2.5 && fixed.q5 == 2.5 && fixed.standardDeviation == 0)
        #expect(summary.warnings.contains { $0.contains("undefined") && $0.contains("fixed") })
    }
}
