import Foundation
import ModelSpec
import PenalizedLS
import Samplers
import Testing
import TestSupport

/// Simulation-based calibration (Talts et al. 2018) of NUTS on the collapsed log-posterior, the
/// path `mixmc sample --algorithm nuts` takes: REML-centered jittered start, Stan's adaptation,
/// exact draws of b.
///
/// Model: y_gi = β₀ + β₁ x_gi + b_g + ε_gi, 8 groups x 5 rows, x a fixed grid, with the priors
/// β ~ N(0, 1), σ ~ half-Cauchy(0, 1), τ ~ half-Cauchy(0, 1). Each replication draws (β, σ, τ, b)
/// from the prior and y from the model, runs one chain (200 warmup, 198 draws thinned by 2 to
/// 99 kept draws) and records the rank of each true value among the draws, 0…99. If the sampler
/// draws from the posterior, each rank is uniform on 0…99; ranks are counted in 10 bins of 10 and
/// tested by Pearson's chi-square (9 degrees of freedom) at level 0.01 (critical value 21.666),
/// for β₀, β₁, σ and τ and for one random effect b₁ (the exact draw of b). Seeds are fixed, so the
/// outcome is deterministic.
///
/// Quick tier (always on): 100 replications, collapsed target (~20 s in a debug build on 2 cores).
/// `MIXMC_SBC_LONG=1`: 1000 replications, and the full target too (~9 min in a debug build).
@Suite struct NUTSCalibrationTests {
    static let long = ProcessInfo.processInfo.environment["MIXMC_SBC_LONG"] == "1"
    static let groups = 8
    static let rowsPerGroup = 5
    static let keptDraws = 99
    static let bins = 10
    /// χ²₉ quantile 0.99.
    static let criticalValue = 21.666

    /// One replication's ranks of (β₀, β₁, σ, τ, b₁).
    static func ranks(replication: Int, form: PosteriorForm) throws -> [Int] {
        let truthStream = RandomStream(seed: 90_210, chain: replication + 1)
        let beta = [truthStream.standardNormal(), truthStream.standardNormal()]
        let sigma = abs(tan(Double.pi * (truthStream.uniform() - 0.5)))
        let tau = abs(tan(Double.pi * (truthStream.uniform() - 0.5)))
        let effects = (0..<groups).map { _ in tau * truthStream.standardNormal() }
        var csv = "y,x,g\n"
        for g in 0..<groups {
            for i in 0..<rowsPerGroup {
                let x = Double(i) - 2
                let y = beta[0] + beta[1] * x + effects[g] + sigma * truthStream.standardNormal()
                csv += "\(y),\(x),g\(g + 1)\n"
            }
        }
        let data = try DataTable.parse(text: csv, source: "sbc-\(replication).csv", categorical: ["g"])
        let design = try Design.build(data: data, formula: Formula.parse("y ~ x + (1 | g)"))
        let priors = PriorSet(fixed: [NormalPrior(mean: 0, sd: 1), NormalPrior(mean: 0, sd: 1)], sigmaScale: 1,
                              tauScales: [[1]], lkjEta: [1])
        let posterior = try PosteriorNUTS(design: design, priors: priors, form: form)
        let fit = try MixedModelFit.fit(design)
        let start = PosteriorStart(center: fit.posteriorCenter, betaJitter: fit.fixedEffects.map { 2 * $0.standardError })
        var options = ChainOptions()
        options.warmup = 200
        options.draws = 2 * keptDraws
        options.thin = 2
        options.seed = 4242
        options.chain = replication + 1
        let sink = RankCalibration.Rows()
        _ = try posterior.run(start: start, options: options, sink: sink)
        precondition(sink.rows.count == keptDraws)
        // Levels are sorted as strings (g1 … g8), so r_g.1.1 is group g1, the first simulated one.
        let checked: [(String, Double)] = [("b_Intercept", beta[0]), ("b_x", beta[1]), ("sigma", sigma),
                                           ("sd_g__Intercept", tau), ("r_g.1.1", effects[0])]
        return RankCalibration.ranks(of: checked, rows: sink.rows, names: posterior.columnNames)
    }

    @Test(arguments: long ? [PosteriorForm.collapsed, .full] : [.collapsed])
    func ranksOfTheTrueValuesAreUniform(form: PosteriorForm) throws {
        let replications = Self.long ? 1000 : 100
        let (ranks, failed) = RankCalibration.replicate(replications) { try Self.ranks(replication: $0, form: form) }
        #expect(failed.isEmpty, "\(failed)")
        for (index, name) in ["beta0", "beta1", "sigma", "tau", "b1"].enumerated() {
            let statistic = RankCalibration.chiSquare(ranks.map { $0[index] }, keptDraws: Self.keptDraws, bins: Self.bins).statistic
            print("NUTS SBC \(form), \(replications) replications: \(name) chi-square \(String(format: "%.2f", statistic)) (critical \(Self.criticalValue))")
            #expect(statistic < Self.criticalValue, "\(name): ranks not uniform, chi-square \(statistic)")
        }
    }
}
