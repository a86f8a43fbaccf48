import ChainIO
import Diagnostics
import Foundation
import ModelSpec
import Testing
import TestSupport

/// The GLMM Gibbs samplers against long Stan runs of the same posteriors (issue 13):
/// Tests/Fixtures/stan_glmm_references.json, made by scripts/make_stan_glmm_references.R with rstan
/// (non-centered, β ~ Normal(0, 10), every SD ~ half-Cauchy(0, 5): the models' priors.toml). Each
/// posterior mean of β and of every SD must lie within 4 combined MCSE, √(MCSE_mixmc² +
/// MCSE_Stan²), of Stan's. cbpp and grouseticks run in every `swift test`; VerbAgg, whose runs
/// take minutes in a debug build, with `MIXMC_REFERENCE_LONG=1` (docs/benchmarks.md records them).
@Suite struct StanGLMMAgreementTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let reference: String
        let model: String
        let link: String?
        let warmup: Int
        let draws: Int
        var testDescription: String { reference }
    }

    static let quick: [Case] = [
        Case(reference: "cbpp_logit", model: "cbpp", link: nil, warmup: 1000, draws: 4000),
        Case(reference: "cbpp_probit", model: "cbpp", link: "probit", warmup: 1000, draws: 4000),
        Case(reference: "grouseticks_poisson", model: "grouseticks", link: nil, warmup: 1000, draws: 2000),
    ]
    static let long: [Case] = [
        Case(reference: "verbagg_logit", model: "verbagg", link: nil, warmup: 1000, draws: 2000),
        Case(reference: "verbagg_probit", model: "verbagg", link: "probit", warmup: 1000, draws: 4000),
    ]
    static let runsLong = ProcessInfo.processInfo.environment["MIXMC_REFERENCE_LONG"] == "1"

    @Test(arguments: quick) func quickAgreement(_ c: Case) throws { try check(c) }

    @Test(.enabled(if: runsLong), arguments: long) func longAgreement(_ c: Case) throws { try check(c) }

    func check(_ c: Case) throws {
        let data = try Data(contentsOf: Fixtures.url("stan_glmm_references.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let reference = try #require(root[c.reference] as? [String: Any], "no Stan reference \(c.reference)")
        let fixed = try #require(reference["fixed"] as? [String: [String: Double]])
        let sds = try #require(reference["sd"] as? [String: [String: Double]])

        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-stan-\(c.reference)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        var arguments = ["sample", "models/\(c.model)", "--chains", "4", "--warmup", "\(c.warmup)", "--draws", "\(c.draws)",
                         "--seed", "20261203", "--quiet", "--output", output.path]
        if let link = c.link { arguments += ["--link", link] }
        let run = try runMixmc(arguments)
        try #require(run.status == 0, "stderr: \(run.standardError)")
        let chains = try (1...4).map { try StanCSVReader.read(url: output.appendingPathComponent("chain-\($0).csv")) }
        let summary = try RunSummary(chains: chains)

        var expected: [(column: String, stan: [String: Double])] = fixed.map { ("b_" + OutputColumns.safeName($0.key), $0.value) }
        expected += sds.map { ("sd_\($0.key)__Intercept", $0.value) }
        for (column, stan) in expected.sorted(by: { $0.column < $1.column }) {
            let mine = try #require(summary.parameters.first { $0.name == column }, "no column \(column)")
            let stanMean = try #require(stan["mean"]), stanMCSE = try #require(stan["mcse_mean"])
            let combined = (mine.mcseMean * mine.mcseMean + stanMCSE * stanMCSE).squareRoot()
            let z = (mine.mean - stanMean) / combined
            print("\(c.reference) \(column): mixmc \(mine.mean) ± \(mine.mcseMean) (ESS \(Int(mine.essBulk))), Stan \(stanMean) ± \(stanMCSE); z = \(String(format: "%.2f", z))")
            #expect(abs(z) < 4, "\(c.reference) \(column): mixmc \(mine.mean) ± \(mine.mcseMean), Stan \(stanMean) ± \(stanMCSE), z = \(z)")
            #expect(mine.rhat < 1.01, "\(c.reference) \(column): R-hat \(mine.rhat)")
        }
    }
}
