import Foundation
import ModelSpec

extension GibbsSampler {
    /// The log joint density of the data and the current state, `lp__` of `mixmc sample`
    /// (docs/chain-format.md, "lp__ of a Gibbs chain"):
    ///
    ///     log p(y | β, b, σ) + Σ_j log p(b_j | Σ_j) + log p(β) + log p(σ) + Σ_j log p(τ_j, R_j)
    ///
    /// on the natural scale: a density with respect to Lebesgue measure on (β, b, σ, τ, the strict
    /// lower triangle of each R_j), every normalizing constant included, no Jacobian. It is not
    /// Stan's `lp__` (the log density of the unconstrained parameters, Jacobians added, constants
    /// dropped), so the two cannot be compared number for number.
    ///
    /// - y | β, b, σ ~ N(Xβ + Zb + offset, σ² I): −n/2 log 2π − n log σ − SSR / (2σ²), with SSR
    ///   from the cross-products (eq. 22);
    /// - b_{j,h} ~ N(0, Σ_j): −k/2 log 2π − ½ log |Σ_j| − ½ b_{j,h}ᵀ Σ_j⁻¹ b_{j,h} per level;
    /// - β_i ~ Normal(m_i, s_i) (a flat prior, s_i = +∞, adds 0); σ, τ_jc ~ half-Cauchy;
    /// - R_j ~ LKJ(η_j) as a density over its correlations: det(R)^{η−1} / c_K(η), i.e.
    ///   `PriorSet.logLKJCorrelationCholesky` without the Jacobian Π_{i≥2} W_ii^{K−i} of R ↦ W.
    public func logJointDensity() -> Double {
        logJointDensity(residualSumOfSquares: residualSumOfSquares(beta: beta, randomEffects: randomEffects))
    }

    /// `logJointDensity()` with SSR = ‖ỹ − Xβ − Zb‖² given, for a sampler that has it cheaper
    /// than eq. 22 (`CollapsedCrossedGibbs`: from its residual's sums, not the dense block).
    func logJointDensity(residualSumOfSquares ssr: Double) -> Double {
        let n = Double(design.observationCount)
        return addingLogPriors(to: -0.5 * n * log(2 * Double.pi) - n * log(sigma) - 0.5 * ssr / (sigma * sigma))
    }

    /// `logLikelihood` plus the log prior densities of the current β, b | Σ, σ (unless known), τ
    /// and R: `lp__` of a sampler whose likelihood is not the Gaussian one (`AugmentedGibbs`).
    func addingLogPriors(to logLikelihood: Double) -> Double {
        let logTwoPi = log(2 * Double.pi)
        var total = logLikelihood
        for (i, value) in beta.enumerated() where priors.fixedSDs[i].isFinite {
            total += PriorSet.logNormal(value, NormalPrior(mean: priors.fixedMeans[i], sd: priors.fixedSDs[i]))
        }
        if !residualScaleIsKnown { total += PriorSet.logHalfCauchy(sigma, scale: priors.sigmaScale) }

        for (j, term) in design.terms.enumerated() {
            let k = term.size
            let l = covarianceFactors[j]
            var logDiagonal = 0.0
            for i in 0..<k { logDiagonal += log(l[i + i * k]) }
            let quadratic = Self.standardizedSquares(randomEffects[j], factor: l, order: k)
            let levels = Double(term.levelCount)
            total += -0.5 * levels * Double(k) * logTwoPi - levels * logDiagonal - 0.5 * quadratic

            // τ_c = ‖row c of L‖; W = diag(1/τ) L is R's Cholesky factor.
            var w = l
            for r in 0..<k {
                var squares = 0.0
                for c in 0...r { squares += l[r + c * k] * l[r + c * k] }
                let tau = squares.squareRoot()
                total += PriorSet.logHalfCauchy(tau, scale: priors.tauScales[j][r])
                for c in 0...r { w[r + c * k] /= tau }
            }
            if k > 1 {
                total += PriorSet.logLKJCorrelationCholesky(w, order: k, eta: priors.lkjEta[j])
                for i in 2...k { total -= Double(k - i) * log(w[(i - 1) + (i - 1) * k]) }
            }
        }
        return total
    }

    /// Σ_h ‖L⁻¹ b_h‖² (= Σ_h b_hᵀ Σ⁻¹ b_h) by forward substitution, level by level, for one term's
    /// level-major b and the lower factor L of its Σ (column-major k x k).
    static func standardizedSquares(_ b: [Double], factor l: [Double], order k: Int) -> Double {
        var quadratic = 0.0
        var z = [Double](repeating: 0, count: k)
        for h in 0..<(b.count / k) {
            for r in 0..<k {
                var s = b[h * k + r]
                for c in 0..<r { s -= l[r + c * k] * z[c] }
                z[r] = s / l[r + r * k]
                quadratic += z[r] * z[r]
            }
        }
        return quadratic
    }
}
