import ModelSpec

extension MixedModelFit {
    /// The REML (or ML) estimates as posterior parameter values, the deterministic center from
    /// which `mixmc sample --algorithm nuts` jitters each chain's start (docs/chain-format.md):
    /// β̂, σ̂, and per term τ̂ and the estimated correlation matrix R̂, made interior
    /// (`PosteriorParameters.interiorCenter`) with the SD floor 0.1 σ̂: a tenth of the residual SD
    /// is small but finite on every model's scale.
    ///
    /// Terms are in the design's order, as `varianceComponents` are.
    public var posteriorCenter: PosteriorParameters {
        .interiorCenter(beta: fixedEffects.map(\.estimate), sigma: sigma, components: varianceComponents, tauFloor: 0.1 * sigma)
    }
}

extension GeneralizedMixedModelFit {
    /// Where NUTS starts a binomial or Poisson chain: the Laplace (or AGQ, PQL) estimates kept
    /// inside the priors, since under (quasi-)separation the likelihood's maximum runs off to
    /// infinity while the prior keeps the posterior near its mean (a simulated cloglog data set
    /// with 195 successes in 200 trials gave β̂ = 10¹⁶ with SE 10⁶):
    ///
    /// - β_i: β̂_i clamped to m_i ± 2 s_i (m_i if β̂_i is not finite), jittered by
    ///   min(2 SE(β̂_i), s_i) (the prior SD where the SE is not finite; 1 without either);
    /// - τ_jc: max(τ̂_jc, 0.1) on the η scale (the REML start's 0.1 σ̂ with σ ≡ 1), at most 10 A_jc,
    ///   ten times the scale of its half-Cauchy prior; R_j = 0.9 R̂_j + 0.1 I
    ///   (`PosteriorParameters.interiorCenter`);
    /// - b: the conditional modes b̂, each clamped to ±3 of its coefficient's τ at the center, so
    ///   that z = chol(Σ_j)⁻¹ b stays moderate (`PosteriorStart.randomEffects`).
    public func posteriorStart(priors: PriorSet) -> PosteriorStart {
        precondition(priors.fixed.count == fixedEffects.count && priors.tauScales.count == varianceComponents.count)
        var beta: [Double] = []
        var jitter: [Double] = []
        for (effect, prior) in zip(fixedEffects, priors.fixed) {
            let estimate = effect.estimate.isFinite ? effect.estimate : prior.mean
            beta.append(prior.sd.isFinite ? min(max(estimate, prior.mean - 2 * prior.sd), prior.mean + 2 * prior.sd) : estimate)
            let width = 2 * effect.standardError
            jitter.append(width.isFinite ? min(width, prior.sd) : (prior.sd.isFinite ? prior.sd : 1))
        }
        let ceilings = priors.tauScales.map { $0.map { 10 * $0 } }
        let center = PosteriorParameters.interiorCenter(beta: beta, sigma: nil, components: varianceComponents, tauFloor: 0.1,
                                                        tauCeilings: ceilings)
        let effects = randomEffects.enumerated().map { j, term in
            term.modes.flatMap { mode in
                mode.enumerated().map { c, value in
                    let bound = 3 * center.tau[j][c]
                    return value.isFinite ? min(max(value, -bound), bound) : 0
                }
            }
        }
        return PosteriorStart(center: center, betaJitter: jitter, randomEffects: effects)
    }
}

extension PosteriorParameters {
    /// Estimates made interior, for a NUTS start:
    ///
    /// - τ_jc = max(τ̂_jc, `tauFloor`): a singular fit (τ̂ = 0, Dyestuff2) has log τ = −∞; and at
    ///   most `tauCeilings[j][c]` when given.
    /// - R_j = 0.9 R̂_j + 0.1 I: a correlation of ±1 (a singular vector term) has an infinite
    ///   `cholesky_corr` coordinate; the shrunk matrix is positive definite with |ρ| ≤ 0.9. An
    ///   undefined correlation (a zero SD) is taken as 0.
    static func interiorCenter(beta: [Double], sigma: Double?, components: [MixedModelFit.VarianceComponent],
                               tauFloor: Double, tauCeilings: [[Double]]? = nil) -> PosteriorParameters {
        let covariances = components.enumerated().map { j, component -> [Double] in
            let k = component.standardDeviations.count
            var tau = component.standardDeviations.map { max($0, tauFloor) }
            if let ceilings = tauCeilings?[j] { tau = zip(tau, ceilings).map { min($0, $1) } }
            var covariance = [Double](repeating: 0, count: k * k)
            for r in 0..<k {
                for c in 0..<k {
                    let estimate = component.correlations[r][c]
                    let correlation = r == c ? 1 : (estimate.isFinite ? 0.9 * estimate : 0)
                    covariance[r + c * k] = tau[r] * correlation * tau[c]
                }
            }
            return covariance
        }
        guard let center = PosteriorParameters(beta: beta, sigma: sigma, covariances: covariances) else {
            preconditionFailure("0.9 R + 0.1 I with positive SDs is positive definite")
        }
        return center
    }
}
