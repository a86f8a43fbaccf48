import Linalg

extension CollapsedLogPosterior {
    /// An exact draw of what the collapsed form integrated out, given the sampled coordinates
    /// (docs/math.md, eq. 55): under `.collapsed`, b | β, σ, Σ, y; under `.marginal`, (β, b) | σ, Σ, y
    /// jointly (the Gibbs sampler's eq. 21 draw).
    ///
    /// With M the integrated system and L its factor, u ~ N(u*, σ² M⁻¹) is
    /// u = L⁻ᵀ (ℓ_u − L_Xθᵀβ + σ ε) (β given) or [u; β] = L⁻ᵀ (ℓ + σ ε) (β integrated), and
    /// b = Λu. `noise` ε is standard normal in the factor's order: the first term's effects
    /// (level-major), the other terms' effects in design order, then β under `.marginal`;
    /// its length is `drawNoiseCount`. Zero noise gives the conditional mean.
    ///
    /// - Returns: β (the given one under `.collapsed`) and b per term, level-major; nil when the
    ///   system is not positive definite at `position`.
    public mutating func drawIntegratedEffects(at position: [Double], noise: [Double]) -> (beta: [Double], randomEffects: [[Double]])? {
        precondition(position.count == dimension && noise.count == drawNoiseCount)
        let parameters = position.withUnsafeBufferPointer { CovarianceParameters(layout: layout, position: $0) }
        let givenBeta = layout.betaRange.map { position[$0] }
        guard let solved = factorAndSolve(parameters, beta: givenBeta, noise: noise) else { return nil }
        let q1 = products.layout.firstDimension
        let beta = integratesFixedEffects
            ? Array(solved.solution[(q1 + products.fixedStart) ..< (q1 + products.fixedStart + products.fixedCount)])
            : givenBeta
        var effects: [[Double]] = []
        for (j, k) in layout.termSizes.enumerated() {
            let base = j == 0 ? 0 : q1 + products.termStarts[j]
            let t = parameters.covarianceFactors[j].map { $0 / parameters.sigma! }
            var b = [Double](repeating: 0, count: k * layout.levelCounts[j])
            for h in 0..<layout.levelCounts[j] {
                for r in 0..<k {
                    var s = 0.0
                    for c in 0...r { s += t[r + c * k] * solved.solution[base + h * k + c] }
                    b[h * k + r] = s
                }
            }
            effects.append(b)
        }
        return (beta, effects)
    }

    /// Length of the standard normal vector `drawIntegratedEffects` takes: q, plus p under `.marginal`.
    public var drawNoiseCount: Int {
        products.layout.firstDimension + products.fixedStart + (integratesFixedEffects ? products.fixedCount : 0)
    }
}
