import ModelSpec

/// The full log-posterior (β, log σ, log τ, correlations, z) as a sampler target.
extension FullLogPosterior: LogDensity {}

/// The collapsed (β, log σ, log τ, correlations) or marginal (log σ, log τ, correlations)
/// log-posterior as a sampler target; draw the integrated-out effects afterwards with
/// `drawIntegratedEffects(at:noise:)`.
extension CollapsedLogPosterior: LogDensity {}
