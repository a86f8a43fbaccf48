import Foundation
import ModelSpec

/// Blocked Gibbs for a binomial mixed model after data augmentation (docs/math.md, eq. 100-105):
/// given a latent variable per row, the model is a weighted Gaussian linear mixed model with
/// σ = 1, so the `GibbsSampler` of the Gaussian model draws (β, b) jointly through the blocked
/// Cholesky factor and then Σ exactly as it does there. One sweep:
///
/// 1. the latent variables given η = offset + Xβ + Zb: Pólya-Gamma ω_i ~ PG(n_i, η_i) for the
///    logit link (Polson, Scott & Windle 2013), or truncated-normal utilities for the probit
///    link (Albert & Chib 1993), one per trial;
/// 2. the cross-products refilled with the working weights and response they imply (eq. 101, 103);
/// 3. one sweep of the Gaussian sampler with σ ≡ 1: (β, b), then every Σ_j and the
///    interweaving steps;
/// 4. for Albert-Chib without an offset, the scale move of marginal augmentation (eq. 111):
///    utilities, β, b and every SD scaled by one draw, which lets τ cross scales fast where
///    groups are all successes or all failures;
/// 5. η at the new state, for the next sweep's latent draws and for `lp__`.
///
/// Each sweep reads every row (steps 1, 2 and 4); the Gaussian step's cost does not depend on
/// the number of rows. Not thread-safe: one sampler per chain.
public struct AugmentedGibbs {
    /// Which latent variables make the model conditionally Gaussian.
    public enum Augmentation: String, Sendable {
        /// ω_i ~ PG(n_i, η_i): binomial with the logit link (eq. 100-101).
        case polyaGamma = "Pólya-Gamma"
        /// z_it ~ N(η_i, 1) truncated by the outcome of trial t: binomial with the probit link
        /// (eq. 102-103).
        case albertChib = "Albert-Chib"
    }

    public let augmentation: Augmentation
    /// The conditionally Gaussian model's sampler; its design's cross-products are refilled
    /// before every sweep.
    public private(set) var gaussian: GibbsSampler
    /// Per row: successes s_i and trials n_i.
    let successes: [Double]
    let trials: [Double]
    /// PG(n_i, ·) samplers, one per distinct trial count, and each row's (−1 for n_i = 0).
    let polyaGammaSamplers: [PolyaGammaSampler]
    let samplerOfRow: [Int32]
    /// η = offset + Xβ + Zb at the current state.
    public private(set) var linearPredictor: [Double]
    /// Scratch of step 2: the working weights and response.
    private var weights: [Double]
    private var working: [Double]
    /// Whether sweeps end with the scale move (step 4): Albert-Chib on a design without an offset.
    public let expandsLatentScale: Bool
    /// The rows' successes, failures and log binomial coefficients, for `lp__` at every draw.
    private let likelihoodRows: Design.BinomialRows
    /// Σ n_i, the number of utilities (Albert-Chib).
    private let latentCount: Double
    /// Σ_i Σ_t (u_it − ū_i)² of the last utilities drawn: eq. 103's term free of η.
    private var withinRowSquares = 0.0

    /// The augmentation that fits `design`'s family and link; nil when none does.
    public static func augmentation(for family: Family) -> Augmentation? {
        switch (family.kind, family.link) {
        case (.binomial, .logit): return .polyaGamma
        case (.binomial, .probit): return .albertChib
        default: return nil
        }
    }

    /// A sampler started at β = 0, b = 0 and Σ_j = I (σ ≡ 1).
    public init(design: Design, priors: GibbsPriors) throws(GibbsError) {
        guard let augmentation = Self.augmentation(for: design.family) else {
            throw .familyNotSupported("no data augmentation makes \(design.family) conditionally Gaussian; the Gibbs samplers take binomial models with the logit (Pólya-Gamma) or probit (Albert-Chib) link")
        }
        self.augmentation = augmentation
        let n = design.observationCount
        let trials = design.priorWeights ?? Array(repeating: 1, count: n)
        let successes = zip(design.response, trials).map { ($0 * $1).rounded() }
        for (i, count) in trials.enumerated() {
            if augmentation == .albertChib && count != count.rounded() {
                throw .familyNotSupported("row \(i + 1) has \(count) trials; Albert-Chib needs whole numbers of trials (one latent utility per trial)")
            }
            if count > 0 && count < 1 {
                throw .familyNotSupported("row \(i + 1) has \(count) trials; the Pólya-Gamma sampler needs at least one trial per row (PG(b, z) with b ≥ 1)")
            }
        }
        self.trials = trials
        self.successes = successes
        var samplers: [PolyaGammaSampler] = []
        var samplerOfRow = [Int32](repeating: -1, count: n)
        if augmentation == .polyaGamma {
            var index: [Double: Int32] = [:]
            for (i, count) in trials.enumerated() where count > 0 {
                if let known = index[count] { samplerOfRow[i] = known; continue }
                index[count] = Int32(samplers.count)
                samplerOfRow[i] = Int32(samplers.count)
                samplers.append(PolyaGammaSampler(b: count))
            }
        }
        polyaGammaSamplers = samplers
        self.samplerOfRow = samplerOfRow
        var gaussian = try GibbsSampler(design: design, priors: priors)
        gaussian.design.prepareCrossProductRefills()
        self.gaussian = gaussian
        linearPredictor = design.offset
        expandsLatentScale = augmentation == .albertChib && design.offset.allSatisfy { $0 == 0 }
        latentCount = trials.reduce(0, +)
        likelihoodRows = design.binomialRows()
        weights = Array(repeating: 0, count: n)
        working = Array(repeating: 0, count: n)
    }

    /// Step 1 and 2: the latent variables given η, and the cross-products they imply.
    mutating func augment(random: RandomStream) {
        let offset = gaussian.design.offset
        let n = linearPredictor.count
        linearPredictor.withUnsafeBufferPointer { eta in
        weights.withUnsafeMutableBufferPointer { weights in
        working.withUnsafeMutableBufferPointer { working in
        successes.withUnsafeBufferPointer { successes in
        trials.withUnsafeBufferPointer { trials in
        offset.withUnsafeBufferPointer { offset in
            switch augmentation {
            case .polyaGamma:
                // κ/ω − offset with weight ω: exp(κη − ωη²/2) ∝ N(κ/ω | η, 1/ω) (eq. 101). The
                // samplers and their indices are read through buffers (no bounds checks).
                polyaGammaSamplers.withUnsafeBufferPointer { samplers in
                samplerOfRow.withUnsafeBufferPointer { samplerOfRow in
                    for i in 0..<n {
                        let s = samplerOfRow[i]
                        guard s >= 0 else { weights[i] = 0; working[i] = 0; continue }
                        let omega = samplers[Int(s)].draw(z: eta[i], random: random)
                        weights[i] = omega
                        working[i] = (successes[i] - 0.5 * trials[i]) / omega - offset[i]
                    }
                } }
            case .albertChib:
                // The mean of the row's n_i utilities with weight n_i: their sum of squares about
                // η is n_i (ū − η)² plus a term free of η (eq. 103), kept for the scale move.
                // Welford's running mean and squares of the deviations d = u − η.
                var within = 0.0
                for i in 0..<n {
                    let count = trials[i]
                    guard count > 0 else { weights[i] = 0; working[i] = 0; continue }
                    let center = eta[i]
                    var mean = 0.0, squares = 0.0, seen = 0.0
                    let positives = Int(successes[i]), negatives = Int(count) - positives
                    for t in 0..<(positives + negatives) {
                        let deviation = t < positives ? random.standardNormalTail(above: -center) : -random.standardNormalTail(above: center)
                        seen += 1
                        let step = deviation - mean
                        mean += step / seen
                        squares += step * (deviation - mean)
                    }
                    within += squares
                    weights[i] = count
                    working[i] = center + mean - offset[i]
                }
                withinRowSquares = within
            }
        } } } } } }
        gaussian.design.refillCrossProducts(response: working, weights: weights)
    }

    /// η = offset + Xβ + Zb at the current state (step 4).
    mutating func updateLinearPredictor() {
        gaussian.design.linearPredictor(beta: gaussian.beta, randomEffects: gaussian.randomEffects, into: &linearPredictor)
    }
}

extension AugmentedGibbs: GibbsChainSampler {
    public var beta: [Double] { gaussian.beta }
    public var randomEffects: [[Double]] { gaussian.randomEffects }
    public var sigma: Double { gaussian.sigma }
    public var covariances: [[Double]] { gaussian.covariances }

    public mutating func sweep(random: inout RandomStream) throws(GibbsError) {
        augment(random: random)
        try gaussian.sweep(random: &random)
        if expandsLatentScale && !gaussian.holdsVarianceParametersFixed {
            gaussian.expandLatentScale(latentCount: latentCount, withinRowSquares: withinRowSquares, random: random)
        }
        updateLinearPredictor()
    }

    /// `lp__`: log p(y | β, b) + the log priors, on the natural scale as the Gaussian sampler's
    /// (docs/chain-format.md, "lp__ of a Gibbs chain").
    public func logJointDensity() -> Double {
        gaussian.addingLogPriors(to: gaussian.design.logLikelihood(eta: linearPredictor, binomial: likelihoodRows))
    }

    public mutating func beginWarmup() { gaussian.beginWarmup() }
    public mutating func endWarmup() { gaussian.endWarmup() }
}
