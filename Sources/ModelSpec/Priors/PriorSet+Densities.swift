import Foundation

/// Normalized log prior densities (docs/priors.md, "Densities").
extension PriorSet {
    /// log Normal(x | mean, sd) = −½ log(2π) − log sd − ½ ((x − mean)/sd)².
    public static func logNormal(_ x: Double, _ prior: NormalPrior) -> Double {
        let z = (x - prior.mean) / prior.sd
        return -0.5 * log(2 * Double.pi) - log(prior.sd) - 0.5 * z * z
    }

    /// log half-Cauchy(x | 0, scale) on the positive half-line: log(2 / (π s (1 + (x/s)²))) for
    /// x ≥ 0, −∞ for x < 0.
    public static func logHalfCauchy(_ x: Double, scale: Double) -> Double {
        guard x >= 0 else { return -.infinity }
        let z = x / scale
        return log(2 / Double.pi) - log(scale) - log1p(z * z)
    }

    /// log LKJ(η) density of a correlation matrix R = L Lᵀ expressed through its Cholesky factor L
    /// (Stan's `lkj_corr_cholesky_lpdf`), normalizing constant included:
    ///
    ///     log p(L | η) = Σ_{i=2}^{K} (K − i + 2η − 2) log L_ii − log c_K(η),
    ///
    /// where det(R)^{η−1} = Π L_ii^{2η−2}, Π_{i≥2} L_ii^{K−i} is the Jacobian of R ↦ L, and
    ///
    ///     c_K(η) = 2^{Σ_{k=1}^{K−1} (2η − 2 + K − k)(K − k)} Π_{k=1}^{K−1} B(η + (K−k−1)/2, η + (K−k−1)/2)^{K−k}
    ///
    /// is ∫ det(R)^{η−1} dR over the K(K−1)/2 correlations (Lewandowski, Kurowicka & Joe 2009,
    /// section 3; c_2(η) = 2^{2η−1} B(η, η), c_3(1) = π²/2, the volume of the 3 × 3 elliptope).
    ///
    /// - Parameters:
    ///   - choleskyFactor: L, column-major `order` × `order`, lower triangular (the upper triangle
    ///     is not read). Its rows should have unit length; that is not checked.
    /// - Returns: 0 for `order` 1 (a 1 × 1 correlation matrix is the constant 1); −∞ when a
    ///   diagonal entry is not positive; NaN when η is not positive and finite.
    public static func logLKJCorrelationCholesky(_ choleskyFactor: [Double], order: Int, eta: Double) -> Double {
        precondition(order >= 1 && choleskyFactor.count == order * order, "L must be order × order")
        guard eta > 0, eta.isFinite else { return .nan }
        guard order > 1 else { return 0 }
        let k = Double(order)
        var logDensity = -logLKJNormalizer(order: order, eta: eta)
        for i in 2...order {
            let diagonal = choleskyFactor[(i - 1) + (i - 1) * order]
            guard diagonal > 0 else { return -.infinity }
            logDensity += (k - Double(i) + 2 * eta - 2) * log(diagonal)
        }
        return logDensity
    }

    /// log c_K(η), the LKJ normalizing constant (see `logLKJCorrelationCholesky`).
    static func logLKJNormalizer(order: Int, eta: Double) -> Double {
        var result = 0.0
        let k = Double(order)
        for step in 1..<order {
            let remaining = k - Double(step)
            let b = eta + (remaining - 1) / 2
            result += (2 * eta - 2 + remaining) * remaining * log(2.0)
            result += remaining * logBeta(b, b)
        }
        return result
    }

    /// log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b).
    static func logBeta(_ a: Double, _ b: Double) -> Double {
        lgamma(a) + lgamma(b) - lgamma(a + b)
    }
}
