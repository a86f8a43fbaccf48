/// Where a NUTS chain starts (`PosteriorNUTS.initialPosition`): a deterministic center (in
/// `mixmc sample`, the REML fit, or for binomial and Poisson models the Laplace fit kept inside
/// the priors, `GeneralizedMixedModelFit.posteriorStart(priors:)`) and the half-widths of the
/// uniform jitter each chain adds with its own random stream.
///
/// Why not Stan's uniform(−2, 2) on every unconstrained coordinate: β is on the data's scale
/// (sleepstudy's intercept is 251 with SE 7), so ±2 around 0 starts hundreds of posterior SDs
/// away and warmup spends its first windows walking there; and log σ, log τ = ±2 are factors of
/// e² off. A jitter of a few posterior SDs keeps chains overdispersed, as R-hat needs, without that.
public struct PosteriorStart: Sendable {
    /// β, σ (nil for families without one), τ and the correlation factors W at the center;
    /// `standardizedEffects` is not read.
    public var center: PosteriorParameters
    /// Per β: the half-width of its uniform jitter (`mixmc sample`: 2 standard errors).
    public var betaJitter: [Double]
    /// Half-width of the uniform jitter of log σ, each log τ and each correlation coordinate.
    public var scaleJitter: Double
    /// Per term, level-major: b at the center (the Laplace fit's conditional modes), where a
    /// `.full` chain of a binomial or Poisson model starts its random effects, as
    /// z = chol(Σ_j)⁻¹ b at the jittered Σ_j; nil starts them at z = 0. Not read for Gaussian
    /// models, whose `.full` chains start b from an exact draw.
    public var randomEffects: [[Double]]?

    public init(center: PosteriorParameters, betaJitter: [Double], scaleJitter: Double = 0.5, randomEffects: [[Double]]? = nil) {
        precondition(betaJitter.count == center.beta.count)
        self.center = center
        self.betaJitter = betaJitter
        self.scaleJitter = scaleJitter
        self.randomEffects = randomEffects
    }
}
