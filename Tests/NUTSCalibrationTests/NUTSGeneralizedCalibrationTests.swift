import Dispatch
import Foundation
import ModelSpec
import PenalizedLS
import Samplers
import Synchronization
import Testing
import TestSupport

/// NUTS on the full log-posterior of binomial and Poisson models (docs/math.md, eq. 90-93), the
/// path `mixmc sample --algorithm nuts` takes for them: a start from the Laplace fit (β̂, τ̂ and the
/// conditional modes), jittered per chain, then Stan's adaptation.
///
/// - Simulation-based calibration (Talts et al. 2018) on a binomial random-intercept model:
///   s_gi ~ Binomial(5, g⁻¹(β₀ + β₁ x_gi + b_g)), 8 groups x 5 rows, x on a fixed grid, with
///   β ~ N(0, 1) and τ ~ half-Cauchy(0, 1). Each replication draws (β, τ, b) from the prior and the
///   counts from the model, runs one chain (200 warmup, 198 draws thinned by 2 to 99 kept draws)
///   and records the rank of each true value among the draws; ranks of β₀, β₁, τ and b₁ in 10 bins
///   by Pearson's χ², at level 0.01 for the model (Bonferroni over the 4 parameters: 25.46 on 9
///   degrees of freedom). Quick tier: 100 replications, logit. `MIXMC_SBC_LONG=1`: 1000
///   replications for each binomial link.
/// - A Poisson model against its posterior computed by quadrature (`PoissonGridReference`).
@Suite struct NUTSGeneralizedCalibrationTests {
    static let long = ProcessInfo.processInfo.environment["MIXMC_SBC_LONG"] == "1"
    static let groups = 8
    static let rowsPerGroup = 5
    static let trials = 5
    static let keptDraws = 99
    static let bins = 10
    /// R's qchisq(1 − 0.01/4, 9).
    static let criticalValue = 25.462478697854408

    /// The start `mixmc sample` takes: the Laplace fit (standard errors from R_X, enough for a
    /// jitter) kept inside the priors, its conditional modes for b; nil when the fit fails.
    static func laplaceStart(_ design: Design, priors: PriorSet,
                             method: GeneralizedMixedModelFit.Method = .laplace) -> PosteriorStart? {
        guard let fit = try? GeneralizedMixedModelFit.fit(design, method: method, standardErrors: .rx) else { return nil }
        return fit.posteriorStart(priors: priors)
    }

    static let priors = PriorSet(fixed: [NormalPrior(mean: 0, sd: 1), NormalPrior(mean: 0, sd: 1)], sigmaScale: 1,
                                 tauScales: [[1]], lkjEta: [1])

    /// Replication r's truth (β₀, β₁, τ, b) drawn from the priors with stream (70313, r + 1), and
    /// its design; nil for a data set whose every row has the same proportion of successes (all 5
    /// of 5, say), which `Design` refuses as a constant response. Leaving out replications by
    /// their data alone keeps the ranks uniform: given any y, the rank of a draw from p(θ | y)
    /// among draws from p(θ | y) is.
    static func simulate(replication: Int, link: Link) throws -> (beta: [Double], tau: Double, effects: [Double], design: Design)? {
        let truthStream = RandomStream(seed: 70_313, chain: replication + 1)
        let beta = [truthStream.standardNormal(), truthStream.standardNormal()]
        let tau = abs(tan(Double.pi * (truthStream.uniform() - 0.5)))
        let effects = (0..<groups).map { _ in tau * truthStream.standardNormal() }
        let family = try Family(.binomial, link: link)
        var csv = "s,f,x,g\n"
        var proportions = Set<Int>()
        for g in 0..<groups {
            for i in 0..<rowsPerGroup {
                let x = 0.5 * (Double(i) - 2)
                let mu = family.mean(beta[0] + beta[1] * x + effects[g])
                let successes = (0..<trials).reduce(0) { count, _ in count + (truthStream.uniform() < mu ? 1 : 0) }
                proportions.insert(successes)
                csv += "\(successes),\(trials - successes),\(x),g\(g + 1)\n"
            }
        }
        guard proportions.count > 1 else { return nil }
        let data = try DataTable.parse(text: csv, source: "sbc-binomial-\(replication).csv", categorical: ["g"])
        return (beta, tau, effects, try Design.build(data: data, formula: Formula.parse("cbind(s, f) ~ x + (1 | g)"), family: family))
    }

    /// One replication's ranks of (β₀, β₁, τ, b₁), its divergences, and whether the Laplace fit
    /// failed (the chain then starts from β = 0, τ = 1, z = 0, each jittered); nil where
    /// `simulate` leaves the replication out.
    static func ranks(replication: Int, link: Link) throws -> (ranks: [Int], divergences: Int, fitFailed: Bool)? {
        guard let (beta, tau, effects, design) = try simulate(replication: replication, link: link) else { return nil }
        let posterior = try PosteriorNUTS(design: design, priors: priors, form: .full)
        let fitted = laplaceStart(design, priors: priors)
        let start = fitted ?? PosteriorStart(center: PosteriorParameters(beta: [0, 0], sigma: nil, tau: [[1]], correlationFactors: [[1]]),
                                             betaJitter: [1, 1])
        let sink = RankCalibration.Rows()
        let options = RankCalibration.options(warmup: 200, draws: 2 * keptDraws, thin: 2, seed: 4243, chain: replication + 1)
        let summary = try posterior.run(start: start, options: options, sink: sink)
        precondition(sink.rows.count == keptDraws)
        let checked: [(String, Double)] = [("b_Intercept", beta[0]), ("b_x", beta[1]), ("sd_g__Intercept", tau), ("r_g.1.1", effects[0])]
        let ranks = RankCalibration.ranks(of: checked, rows: sink.rows, names: posterior.columnNames)
        return (ranks, summary.divergentSamplingIterations, fitted == nil)
    }

    @Test(arguments: long ? [Link.logit, .probit, .cloglog] : [.logit])
    func binomialRanksAreUniform(link: Link) throws {
        let replications = Self.long ? 1000 : 100
        let (results, failed) = RankCalibration.replicate(replications) { try Self.ranks(replication: $0, link: link) }
        #expect(failed.isEmpty, "\(failed)")
        let outcomes = results.compactMap { $0 }
        let divergences = outcomes.reduce(0) { $0 + $1.divergences }
        let fitFailures = outcomes.filter(\.fitFailed).count
        print("NUTS SBC binomial \(link), \(outcomes.count) of \(replications) replications (\(replications - outcomes.count) with a constant response left out): \(divergences) divergent transitions in \(outcomes.count * 2 * Self.keptDraws), \(fitFailures) Laplace fits failed")
        for (index, name) in ["beta0", "beta1", "tau", "b1"].enumerated() {
            let (statistic, counts) = RankCalibration.chiSquare(outcomes.map { $0.ranks[index] }, keptDraws: Self.keptDraws, bins: Self.bins)
            print("NUTS SBC binomial \(link): \(name) chi-square \(String(format: "%.2f", statistic)) (critical \(String(format: "%.2f", Self.criticalValue))), bins \(counts)")
            #expect(statistic < Self.criticalValue, "\(name): ranks not uniform, chi-square \(statistic), bins \(counts)")
        }
    }

    /// Regression: the long tier's cloglog replications 118, 218 and 553 (195-197 successes in 200
    /// trials) sent the Laplace fit to β̂ ≈ 10¹⁶ (SE 10⁶), and the chain could not start
    /// (`nonFiniteInitialPoint`). The start is now kept inside the priors: β within the prior
    /// mean ± 2 SD with a jitter of at most one prior SD, τ in [0.1, 10 A], b̂ within ±3 τ; the
    /// jittered start has a finite density and a short chain runs. (The fit here is nAGQ = 0, which
    /// runs off the same way in 0.2 s; the Laplace fit takes 13 s of a debug build to do it.)
    @Test(arguments: [118, 218, 553])
    func separatedDataStartInsideThePriors(replication: Int) throws {
        let design = try #require(try Self.simulate(replication: replication, link: .cloglog)).design
        let start = try #require(Self.laplaceStart(design, priors: Self.priors, method: .fastLaplace))
        #expect(start.center.beta.allSatisfy { abs($0) <= 2 } && start.betaJitter.allSatisfy { $0 <= 1 })
        #expect(start.center.tau[0][0] >= 0.1 && start.center.tau[0][0] <= 10)
        #expect(start.randomEffects![0].allSatisfy { abs($0) <= 3 * start.center.tau[0][0] })
        let posterior = try PosteriorNUTS(design: design, priors: Self.priors, form: .full)
        var target = try FullLogPosterior(design: design, priors: Self.priors)
        let position = posterior.initialPosition(start: start, random: RandomStream(seed: 4243, chain: replication + 1))
        #expect(target.components(at: position).total.isFinite)
        let sink = RankCalibration.Rows()
        _ = try posterior.run(start: start, options: RankCalibration.options(warmup: 20, draws: 5, seed: 4243, chain: replication + 1), sink: sink)
        #expect(sink.rows.count == 5 && sink.rows.allSatisfy { $0.allSatisfy(\.isFinite) })
    }

    /// A Poisson random-intercept model, y_gi ~ Poisson(exp(β₀ + b_g)), 6 groups x 4 counts,
    /// β₀ ~ N(0, 2²), τ ~ half-Cauchy(0, 1): four chains of 500 warmup + 3000 draws against the
    /// posterior by quadrature (`PoissonGridReference`). E β₀, E τ, E b₁ and E β₀² each within
    /// 4 Monte Carlo standard errors (per chain sd/√ESS, combined over the chains).
    @Test func poissonMatchesQuadrature() throws {
        let counts: [[Double]] = [[2, 4, 3, 1], [0, 1, 1, 0], [5, 7, 4, 6], [3, 2, 2, 5], [1, 0, 2, 1], [9, 6, 8, 11]]
        var csv = "y,g\n"
        for (g, group) in counts.enumerated() { for y in group { csv += "\(Int(y)),g\(g + 1)\n" } }
        let data = try DataTable.parse(text: csv, source: "poisson-grid.csv", categorical: ["g"])
        let design = try Design.build(data: data, formula: Formula.parse("y ~ 1 + (1 | g)"), family: Family(.poisson))
        let priors = PriorSet(fixed: [NormalPrior(mean: 0, sd: 2)], sigmaScale: 1, tauScales: [[1]], lkjEta: [1])
        let reference = PoissonGridReference(counts: counts, interceptSD: 2, tauScale: 1)

        let posterior = try PosteriorNUTS(design: design, priors: priors, form: .full)
        let start = try #require(Self.laplaceStart(design, priors: priors))
        let chains = 4
        let draws = Mutex([[[Double]]](repeating: [], count: chains))
        let divergences = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: chains) { index in
            let sink = RankCalibration.Rows()
            let options = RankCalibration.options(warmup: 500, draws: 3000, seed: 515, chain: index + 1)
            guard let summary = try? posterior.run(start: start, options: options, sink: sink) else { return }
            draws.withLock { $0[index] = sink.rows }
            divergences.withLock { $0 += summary.divergentSamplingIterations }
        }
        let rows = draws.withLock { $0 }
        #expect(rows.allSatisfy { $0.count == 3000 })
        let names = posterior.columnNames
        func column(_ name: String) -> [[Double]] {
            let index = names.firstIndex(of: name)!
            return rows.map { $0.map { $0[index] } }
        }
        let intercept = column("b_Intercept")
        let checks: [(String, [[Double]], Double)] = [
            ("E beta0", intercept, reference.meanIntercept),
            ("E tau", column("sd_g__Intercept"), reference.meanTau),
            ("E b1", column("r_g.1.1"), reference.meanFirstEffect),
            ("E beta0^2", intercept.map { $0.map { $0 * $0 } }, reference.secondMomentIntercept),
        ]
        for (name, chainDraws, exact) in checks {
            let mean = chainDraws.map(MonteCarlo.mean).reduce(0, +) / Double(chains)
            let mcse = chainDraws.map { pow(MonteCarlo.standardErrorOfMean($0), 2) }.reduce(0, +).squareRoot() / Double(chains)
            print("NUTS Poisson vs quadrature (grid edges hold \(reference.edgeShare) of the mass): \(name) \(String(format: "%.5f", mean)) vs \(String(format: "%.5f", exact)), MCSE \(String(format: "%.5f", mcse)), z = \(String(format: "%.2f", (mean - exact) / mcse))")
            #expect(abs(mean - exact) < 4 * mcse, "\(name): NUTS \(mean), quadrature \(exact), MCSE \(mcse)")
        }
        print("NUTS Poisson: \(divergences.withLock { $0 }) divergent transitions")
    }
}

/// The posterior of y_gi ~ Poisson(exp(β₀ + b_g)), b_g ~ N(0, τ²), β₀ ~ N(0, s²), τ ~
/// half-Cauchy(0, A), by quadrature:
///
///   p(β₀, log τ | y) ∝ N(β₀ | 0, s²) · HC(τ | A) · τ · Π_g ∫ exp(S_g(β₀ + b) − n_g e^{β₀+b}) N(b | 0, τ²) db,
///
/// S_g and n_g the sum and number of group g's counts. Each inner integral is taken around the
/// mode b̂ of its integrand (bisection on the monotone derivative) in the units of the curvature
/// there, s = (−h''(b̂))^{−1/2}, by the trapezoid rule in steps of 0.2 in u (b = b̂ + s u; spectrally
/// accurate for these smooth, log-concave integrands), outward from b̂ until the integrand is below
/// 10⁻¹⁷ of its peak on each side (a small S_g leaves a tail that falls only as e^{S_g b}). The
/// outer integral is the trapezoid rule on a 161 x 161 grid, β₀ from log ȳ − 10 to log ȳ + 6 (a lower β₀
/// with larger b's and τ has a long tail, which only β₀'s N(0, 2²) prior ends) and log τ in [−9, 4.5]; the edge cells' share of the mass,
/// which bounds what lies beyond, is checked below 10⁻⁹. E b₁ = E[E(b₁ | β₀, τ, y)], from the same inner sums.
struct PoissonGridReference {
    let meanIntercept: Double
    let secondMomentIntercept: Double
    let meanTau: Double
    let meanFirstEffect: Double
    /// The share of the grid's mass on its edge cells.
    let edgeShare: Double

    init(counts: [[Double]], interceptSD: Double, tauScale: Double) {
        let sums = counts.map { $0.reduce(0, +) }
        let sizes = counts.map { Double($0.count) }
        let level = log(sums.reduce(0, +) / sizes.reduce(0, +))
        let points = 161
        let intercepts = (0..<points).map { level - 10 + 16 * Double($0) / Double(points - 1) }
        let logTaus = (0..<points).map { -9 + 13.5 * Double($0) / Double(points - 1) }
        var logDensity = [Double](repeating: 0, count: points * points)
        var firstEffect = [Double](repeating: 0, count: points * points)
        for (a, intercept) in intercepts.enumerated() {
            for (t, logTau) in logTaus.enumerated() {
                let tau = exp(logTau)
                var value = -0.5 * intercept * intercept / (interceptSD * interceptSD)
                value += -log(1 + (tau / tauScale) * (tau / tauScale)) + logTau
                for g in sums.indices {
                    let (logIntegral, mean) = Self.groupIntegral(sum: sums[g], size: sizes[g], intercept: intercept, tau: tau)
                    value += logIntegral
                    if g == 0 { firstEffect[a * points + t] = mean }
                }
                logDensity[a * points + t] = value
            }
        }
        let peak = logDensity.max()!
        var total = 0.0, first = 0.0, second = 0.0, tauSum = 0.0, effect = 0.0
        for a in 0..<points {
            for t in 0..<points {
                let w = exp(logDensity[a * points + t] - peak)
                total += w
                first += w * intercepts[a]
                second += w * intercepts[a] * intercepts[a]
                tauSum += w * exp(logTaus[t])
                effect += w * firstEffect[a * points + t]
            }
        }
        // The grid's edges must carry nothing: their cells' share of the mass bounds what lies beyond.
        var edges = 0.0
        for a in 0..<points {
            for t in 0..<points where a == 0 || a == points - 1 || t == 0 || t == points - 1 {
                edges += exp(logDensity[a * points + t] - peak)
            }
        }
        edgeShare = edges / total
        precondition(edgeShare < 1e-9, "the grid is too narrow: its edges hold \(edgeShare) of the mass")
        meanIntercept = first / total
        secondMomentIntercept = second / total
        meanTau = tauSum / total
        meanFirstEffect = effect / total
    }

    /// log ∫ exp(S(β₀ + b) − n e^{β₀+b}) N(b | 0, τ²) db and the mean of b under that integrand.
    static func groupIntegral(sum: Double, size: Double, intercept: Double, tau: Double) -> (logIntegral: Double, mean: Double) {
        let precision = 1 / (tau * tau)
        func h(_ b: Double) -> Double { sum * (intercept + b) - size * exp(intercept + b) - 0.5 * b * b * precision }
        func slope(_ b: Double) -> Double { sum - size * exp(intercept + b) - b * precision }
        var low = -1.0, high = 1.0
        while slope(low) < 0 { low *= 2 }
        while slope(high) > 0 { high *= 2 }
        for _ in 0..<200 {
            let middle = 0.5 * (low + high)
            if middle == low || middle == high { break }
            if slope(middle) > 0 { low = middle } else { high = middle }
        }
        let mode = 0.5 * (low + high)
        let scale = 1 / (size * exp(intercept + mode) + precision).squareRoot()
        let peak = h(mode)
        var total = 1.0, moment = mode
        let step = 0.2
        for direction in [-1.0, 1.0] {
            for k in 1...5000 {
                let b = mode + direction * scale * step * Double(k)
                let w = exp(h(b) - peak)
                total += w
                moment += w * b
                if w < 1e-17 { break }
                precondition(k < 5000, "the inner integrand does not fall off")
            }
        }
        let logIntegral = peak + log(total * scale * step) - 0.5 * log(2 * Double.pi) - log(tau)
        return (logIntegral, moment / total)
    }
}
