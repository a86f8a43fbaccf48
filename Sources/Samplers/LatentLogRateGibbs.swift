import Foundation
import ModelSpec

/// Blocked Gibbs for a Poisson log-link mixed model with an observation-level random intercept
/// (1 | obs), the usual model of overdispersion (docs/math.md, eq. 112-114). With the log rates
/// ψ_i = offset_i + x_iβ + z_ib + e_i as latent variables the model splits in two:
///
/// - given ψ, (β, b, τ_obs, Σ) are those of a Gaussian linear mixed model of ψ whose residual SD
///   σ is τ_obs (`Design.latentLogRateModel`): the Gaussian sampler draws them exactly, (β, b)
///   jointly through the blocked Cholesky factor and σ with the first term's Σ₁ with b₁
///   integrated out;
/// - given the rest, the ψ_i are independent, each with the log-concave density
///   y_i ψ − e^ψ − (ψ − m_i)² / (2σ²), m_i = offset_i + x_iβ + z_ib, updated by a
///   Metropolis-Hastings step whose proposal is the Laplace approximation at its mode.
///
/// The observation-level effects reported are e = ψ − m. Each sweep reads every row three times
/// (the ψ steps, the refill, m); the Gaussian step's cost does not depend on the rows. Not
/// thread-safe: one sampler per chain.
public struct LatentLogRateGibbs {
    /// The Gaussian model of ψ; its cross-products are refilled with ψ − offset every sweep.
    public private(set) var gaussian: GibbsSampler
    /// The observation-level term's index among the Poisson design's terms.
    public let observationTerm: Int
    /// The Poisson design's counts and its prior weights-free log-likelihood (`logLikelihood`).
    private let poisson: Design
    /// ψ, e^ψ (kept so a step needs no exponential of the current value), m.
    public private(set) var logRates: [Double]
    private var rates: [Double]
    private var meanLogRates: [Double]
    /// Scratch for the refill: ψ − offset, unit weights.
    private var working: [Double]
    private let unitWeights: [Double]
    /// The Gaussian model's intercept terms, whose levels `shiftLevels` moves with ψ, and per
    /// such term Y_h, the sum of the counts of each level's rows.
    private let shiftedTerms: [Int]
    private let levelCountSums: [[Double]]
    /// ψ steps accepted, of those taken (for tests and the run's report).
    public private(set) var acceptedSteps = 0
    public private(set) var steps = 0

    /// Whether `design` is one this sampler runs: Poisson with the log link, no prior weights, an
    /// observation-level intercept term and at least one other term.
    public static func applies(to design: Design) -> Bool {
        design.family.kind == .poisson && design.family.link == .log && design.priorWeights == nil
            && design.terms.count >= 2 && design.observationLevelInterceptTerm != nil
    }

    /// A sampler started at ψ_i = log(y_i + ½), the Gaussian sampler's start for σ and Σ (σ² the
    /// residual variance of the least-squares fit of ψ on X, Σ_j = σ² I), β = 0 and b = 0 until the
    /// first sweep draws them.
    public init(design: Design, priors: GibbsPriors) throws(GibbsError) {
        guard Self.applies(to: design), let observationTerm = design.observationLevelInterceptTerm else {
            throw .familyNotSupported("the latent log-rate sampler needs a Poisson log-link model without prior weights, with an observation-level term (1 | obs) and another term")
        }
        try priors.validate(fixedCount: design.fixedCount, termSizes: design.terms.map(\.size))
        self.observationTerm = observationTerm
        poisson = design
        let logRates = design.response.map { log($0 + 0.5) }
        self.logRates = logRates
        rates = logRates.map { exp($0) }
        meanLogRates = design.offset
        let others = design.terms.indices.filter { $0 != observationTerm }
        let gaussianPriors = GibbsPriors(fixedMeans: priors.fixedMeans, fixedSDs: priors.fixedSDs,
                                         sigmaScale: priors.tauScales[observationTerm][0],
                                         tauScales: others.map { priors.tauScales[$0] }, lkjEta: others.map { priors.lkjEta[$0] })
        var gaussian = try GibbsSampler(design: design.latentLogRateModel(droppingTerm: observationTerm, logRates: logRates), priors: gaussianPriors)
        gaussian.design.prepareCrossProductRefills()
        _ = gaussian.marginalizeNestedScales()
        self.gaussian = gaussian
        shiftedTerms = gaussian.design.terms.indices.filter { gaussian.design.terms[$0].isIntercept }
        levelCountSums = shiftedTerms.map { j in
            let term = gaussian.design.terms[j]
            var sums = [Double](repeating: 0, count: term.levelCount)
            for (i, code) in term.groupCodes.enumerated() { sums[Int(code)] += design.response[i] }
            return sums
        }
        working = Array(repeating: 0, count: design.observationCount)
        unitWeights = Array(repeating: 1, count: design.observationCount)
    }

    /// m = offset + Xβ + Zb (every term but the observation-level one) at the current state.
    mutating func updateMeanLogRates() {
        gaussian.design.linearPredictor(beta: gaussian.beta, randomEffects: gaussian.randomEffects, into: &meanLogRates)
    }

    /// The interweaving step for σ = τ_obs against the Poisson likelihood (docs/math.md, eq. 116,
    /// as eq. 29-35 for a Gaussian likelihood): with ẽ = (ψ − m)/σ held, a slice step on log σ';
    /// ψ moves with it. The centered step (σ given ψ) mixes slowly where the counts say little
    /// about ψ; this one where they say much. The same step for the other terms' SDs (u = b/τ
    /// held) was tried on grouseticks and dropped: no gain in their ESS, a third more time.
    mutating func interweaveObservationScale(random: RandomStream) {
        let n = logRates.count
        var direction = [Double](repeating: 0, count: n)
        let sigma = gaussian.sigma
        for i in 0..<n { direction[i] = (logRates[i] - meanLogRates[i]) / sigma }
        gaussian.sigma = interweave(scale: sigma, priorScale: gaussian.priors.sigmaScale, direction: direction, random: random)
    }

    /// One slice step on x = log s' under x − log(1 + (s'/A)²) + Σ_i [y_i d_i − e^{ψ_i} expm1(d_i)],
    /// d_i = (s' − s) a_i: a scale s with a half-Cauchy(0, A) prior that moves ψ by (s' − s) a
    /// (eq. 116). The likelihood is written relative to the current ψ, so it stays small near
    /// s' = s however large the counts (SliceSampler.step). Moves ψ and e^ψ; returns s'.
    private mutating func interweave(scale: Double, priorScale: Double, direction: [Double], random: RandomStream) -> Double {
        let n = logRates.count
        var x = [log(scale)]
        let slice = gaussian.slice
        poisson.response.withUnsafeBufferPointer { counts in
        rates.withUnsafeBufferPointer { rates in
        direction.withUnsafeBufferPointer { direction in
        x.withUnsafeMutableBufferPointer { x in
            slice.sweep(x, random: random) { x -> Double in
                let t = exp(x[0])
                guard t.isFinite, t > 0 else { return -.infinity }
                let ratio = t / priorScale
                var value = x[0] - log1p(ratio * ratio)
                let change = t - scale
                for i in 0..<n {
                    let d = change * direction[i]
                    value += counts[i] * d - rates[i] * expm1(d)
                }
                return value.isNaN ? -.infinity : value
            }
        } } } }
        let updated = exp(x[0])
        let change = updated - scale
        if change != 0 {
            for i in 0..<n {
                logRates[i] += change * direction[i]
                rates[i] = exp(logRates[i])
            }
        }
        return updated
    }

    /// Each ψ_i given y_i, m_i and σ.
    mutating func updateLogRates(random: RandomStream) {
        let variance = gaussian.sigma * gaussian.sigma
        let n = logRates.count
        var accepted = 0
        poisson.response.withUnsafeBufferPointer { counts in
        meanLogRates.withUnsafeBufferPointer { means in
        poisson.offset.withUnsafeBufferPointer { offset in
        logRates.withUnsafeMutableBufferPointer { psi in
        rates.withUnsafeMutableBufferPointer { rates in
            for i in 0..<n {
                if Self.step(logRate: &psi[i], rate: &rates[i], count: counts[i], mean: means[i], variance: variance, random: random) {
                    accepted += 1
                }
            }
        } } } } }
        acceptedSteps += accepted
        steps += n
    }

    /// Shift moves of ψ with the levels of each intercept term (docs/math.md, eq. 117): for level
    /// h, b_h → b_h + δ and ψ_i → ψ_i + δ on its rows leave e = ψ − m unchanged, so δ's
    /// conditional is Y_h δ − R_h (e^δ − 1) − (b_h + δ)²/(2τ²) (Y_h = Σ y_i, R_h = Σ e^{ψ_i} over its
    /// rows): in z = log R_h + δ the density of eq. 113 with y = Y_h, m = log R_h − b_h, σ² = τ², the
    /// same along the orbit, so `step` moves it. Where counts say little about ψ, the centered
    /// draws move b_h and ψ on its rows only together and slowly; this moves them at once.
    mutating func shiftLevels(random: RandomStream) {
        let design = gaussian.design
        let n = logRates.count
        for (j, countSums) in zip(shiftedTerms, levelCountSums) {
            let term = design.terms[j]
            let levels = term.levelCount
            let tau = gaussian.covarianceFactors[j][0]
            var effects = gaussian.randomEffects[j]
            var rateSums = [Double](repeating: 0, count: levels)
            var shifts = [Double](repeating: 0, count: levels)
            term.groupCodes.withUnsafeBufferPointer { codes in
                for i in 0..<n {
                    rateSums[Int(codes[i])] += rates[i]
                }
                for h in 0..<levels where rateSums[h] > 0 && rateSums[h].isFinite {
                    let start = log(rateSums[h])
                    var z = start, rate = rateSums[h]
                    if Self.step(logRate: &z, rate: &rate, count: countSums[h], mean: start - effects[h], variance: tau * tau, random: random) {
                        shifts[h] = z - start
                        effects[h] += shifts[h]
                    }
                }
                // e^{ψ_i + δ} as e^{ψ_i} e^δ: one exponential per level, not per row (the
                // product's rounding, 1e-16 relative, is below anything the densities resolve,
                // and an accepted ψ step recomputes e^ψ).
                let factors = shifts.map { $0 == 0 ? 1 : exp($0) }
                for i in 0..<n {
                    let h = Int(codes[i])
                    guard shifts[h] != 0 else { continue }
                    logRates[i] += shifts[h]
                    meanLogRates[i] += shifts[h]
                    rates[i] *= factors[h]
                }
            }
            gaussian.randomEffects[j] = effects
        }
    }

    /// The Gaussian model's cross-products at the current ψ.
    mutating func refill() {
        for i in logRates.indices { working[i] = logRates[i] - poisson.offset[i] }
        gaussian.design.refillCrossProducts(response: working, weights: unitWeights)
    }

    /// One Metropolis-Hastings step for ψ with target log density
    /// f(ψ) = y ψ − e^ψ − (ψ − m)² / (2v) (eq. 113) and an independence proposal centred at the
    /// mode ψ̂ of f (eq. 114): with probability 1 − `wideProposalShare` the Laplace approximation
    /// N(ψ̂, 1 / (e^ψ̂ + 1/v)), else N(ψ̂, v). Returns whether it moved.
    static func step(logRate psi: inout Double, rate: inout Double, count y: Double, mean m: Double, variance v: Double,
                     random: RandomStream) -> Bool {
        let mode = Self.mode(count: y, mean: m, variance: v)
        let narrowSD = 1 / (exp(mode) + 1 / v).squareRoot()
        let wideSD = v.squareRoot()
        let proposed = mode + (random.uniform() < wideProposalShare ? wideSD : narrowSD) * random.standardNormal()
        // log of the mixture's density, up to a constant.
        func proposal(_ x: Double) -> Double {
            let narrow = (x - mode) / narrowSD, wide = (x - mode) / wideSD
            let a = log(1 - wideProposalShare) - log(narrowSD) - 0.5 * narrow * narrow
            let b = log(wideProposalShare) - log(wideSD) - 0.5 * wide * wide
            return max(a, b) + log1p(exp(-abs(a - b)))
        }
        // f(ψ') − f(ψ) with d = ψ' − ψ written so that it stays exact for large counts.
        let d = proposed - psi
        let logRatio = y * d - rate * expm1(d) - d * (proposed + psi - 2 * m) / (2 * v) + proposal(psi) - proposal(proposed)
        guard logRatio >= 0 || log(random.uniform()) < logRatio else { return false }
        psi = proposed
        rate = exp(proposed)
        return true
    }

    /// The wide component's share of the ψ proposal (eq. 113). The Laplace approximation alone has
    /// lighter tails than f, whose left tail is N(m, v) times e^{yψ}: from a point there (where
    /// the last sweep's m, σ can leave ψ) the independence sampler's acceptance ratio is
    /// astronomically small and the chain stays (y = 200, m = 3, v = 2 from ψ = 3: log α ≈ −236,
    /// no move in 200,000 steps). The N(ψ̂, v) component bounds f/q in both tails, which makes
    /// the sampler uniformly ergodic.
    static let wideProposalShare = 0.1

    /// The root of f'(ψ) = y − e^ψ − (ψ − m)/v, decreasing and concave in ψ: Newton's method from
    /// a point right of the root (m when f'(m) ≤ 0, else log y, where f' = −(log y − m)/v < 0)
    /// stays right of it and decreases monotonically to it (eq. 114).
    static func mode(count y: Double, mean m: Double, variance v: Double) -> Double {
        var x = y - exp(m) <= 0 ? m : log(y)
        for _ in 0..<100 {
            let ex = exp(x)
            let slope = y - ex - (x - m) / v
            let step = slope / (ex + 1 / v)
            x += step
            // Quadratic convergence: after a step of 1e-6 the next would be about 1e-12.
            if abs(step) <= 1e-6 * (1 + abs(x)) { break }
        }
        return x
    }
}

extension LatentLogRateGibbs: GibbsChainSampler {
    public var beta: [Double] { gaussian.beta }
    /// b per term of the Poisson design, the observation-level term's e = ψ − m.
    public var randomEffects: [[Double]] {
        var effects = gaussian.randomEffects
        effects.insert(zip(logRates, meanLogRates).map { $0 - $1 }, at: observationTerm)
        return effects
    }
    public var sigma: Double { 1 }
    public var covariances: [[Double]] {
        var covariances = gaussian.covariances
        covariances.insert([gaussian.sigma * gaussian.sigma], at: observationTerm)
        return covariances
    }

    /// The Gaussian model's sweep given ψ, m at its state, ψ given m, σ's interweaving step, and
    /// the refill for the next sweep.
    public mutating func sweep(random: inout RandomStream) throws(GibbsError) {
        try gaussian.sweep(random: &random)
        updateMeanLogRates()
        updateLogRates(random: random)
        interweaveObservationScale(random: random)
        shiftLevels(random: random)
        refill()
    }

    /// `lp__`: log p(y | ψ) + the log priors of β, b (e included) and the SDs (the Gaussian
    /// model's log density of ψ with its priors is exactly that of e and the rest).
    public func logJointDensity() -> Double {
        var total = poisson.logLikelihood(eta: logRates)
        let variance = gaussian.sigma * gaussian.sigma
        var squares = 0.0
        for i in logRates.indices { let e = logRates[i] - meanLogRates[i]; squares += e * e }
        let n = Double(logRates.count)
        total += -0.5 * n * log(2 * Double.pi * variance) - 0.5 * squares / variance
        return gaussian.addingLogPriors(to: total)
    }

    public mutating func beginWarmup() { gaussian.beginWarmup() }
    public mutating func endWarmup() { gaussian.endWarmup() }
}
