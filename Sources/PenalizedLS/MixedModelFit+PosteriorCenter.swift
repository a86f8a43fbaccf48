import ModelSpec

extension MixedModelFit {
    /// The REML (or ML) estimates as posterior parameter values, the deterministic center from
    /// which `mixmc sample --algorithm nuts` jitters each chain's start (docs/chain-format.md):
    /// β̂, σ̂, and per term τ̂ and the estimated correlation matrix R̂, made interior:
    ///
    /// - τ_jc = max(τ̂_jc, 0.1 σ̂): a singular fit (τ̂ = 0, Dyestuff2) has log τ = −∞; a tenth of the
    ///   residual SD is small but finite on every model's scale.
    /// - R_j = 0.9 R̂_j + 0.1 I: a correlation of ±1 (a singular vector term) has an infinite
    ///   `cholesky_corr` coordinate; the shrunk matrix is positive definite with |ρ| ≤ 0.9. An
    ///   undefined correlation (a zero SD) is taken as 0.
    ///
    /// Terms are in the design's order, as `varianceComponents` are.
    public var posteriorCenter: PosteriorParameters {
        let tauFloor = 0.1 * sigma
        let covariances = varianceComponents.map { component -> [Double] in
            let k = component.standardDeviations.count
            let tau = component.standardDeviations.map { max($0, tauFloor) }
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
        guard let center = PosteriorParameters(beta: fixedEffects.map(\.estimate), sigma: sigma, covariances: covariances) else {
            preconditionFailure("0.9 R + 0.1 I with positive SDs is positive definite")
        }
        return center
    }
}
