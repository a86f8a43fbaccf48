import Foundation

/// σ and each term's τ and correlation factor at an unconstrained point, with what every
/// log-posterior form needs from them: the priors of σ, τ and R with the Jacobians of their
/// transforms (docs/math.md, eq. 41-42), and the chain rule from (W_j, log τ_j) back to the
/// unconstrained coordinates (eq. 43).
struct CovarianceParameters {
    /// σ; nil when the layout has no log σ (binomial, Poisson: eq. 90).
    let sigma: Double?
    let tau: [[Double]]
    let correlations: [CorrelationCholeskyTransform]
    /// L_j = chol(Σ_j) = diag(τ_j) W_j (column-major lower).
    let covarianceFactors: [[Double]]

    init(layout: PosteriorLayout, position x: UnsafeBufferPointer<Double>) {
        sigma = layout.logSigmaIndex.map { exp(x[$0]) }
        var tau: [[Double]] = []
        var correlations: [CorrelationCholeskyTransform] = []
        var factors: [[Double]] = []
        for (j, k) in layout.termSizes.enumerated() {
            let t = layout.logTauRanges[j].map { exp(x[$0]) }
            let transform = CorrelationCholeskyTransform(layout.correlationRanges[j].map { x[$0] }, order: k)
            var l = transform.factor
            for r in 0..<k { for c in 0...r { l[r + c * k] *= t[r] } }
            tau.append(t)
            correlations.append(transform)
            factors.append(l)
        }
        self.tau = tau
        self.correlations = correlations
        covarianceFactors = factors
    }

    /// Adds to `gradient` the gradient of, and returns, the log prior of σ, τ and R_j and the
    /// log-Jacobian of x ↦ (σ, τ, W's strict lower triangles):
    ///   prior: log half-Cauchy(σ) + Σ log half-Cauchy(τ_jc) + Σ_j log LKJ-Cholesky(W_j | η_j);
    ///   Jacobian: log σ + Σ log τ_jc + Σ_j `CorrelationCholeskyTransform.logJacobian`
    /// (the σ terms only where there is a σ).
    func addPriors(_ priors: PriorSet, layout: PosteriorLayout, gradient: UnsafeMutableBufferPointer<Double>) -> (prior: Double, jacobian: Double) {
        var prior = 0.0
        var jacobian = 0.0
        if let sigma, let index = layout.logSigmaIndex {
            prior = PriorSet.logHalfCauchy(sigma, scale: priors.sigmaScale)
            jacobian = log(sigma)
            gradient[index] += PosteriorMath.halfCauchyLogScaleGradient(sigma, scale: priors.sigmaScale)
        }
        for (j, k) in layout.termSizes.enumerated() {
            for (c, index) in layout.logTauRanges[j].enumerated() {
                let scale = priors.tauScales[j][c]
                prior += PriorSet.logHalfCauchy(tau[j][c], scale: scale)
                jacobian += log(tau[j][c])
                gradient[index] += PosteriorMath.halfCauchyLogScaleGradient(tau[j][c], scale: scale)
            }
            guard k > 1 else { continue }
            let transform = correlations[j]
            let eta = priors.lkjEta[j]
            prior += PriorSet.logLKJCorrelationCholesky(transform.factor, order: k, eta: eta)
            jacobian += transform.logJacobian
            // LKJ on the Cholesky factor: Σ_{i≥1} (k − i − 3 + 2η) log W_ii (0-based i).
            for (m, index) in layout.correlationRanges[j].enumerated() {
                var g = transform.logJacobianGradient[m]
                for i in 1..<k { g += (Double(k - i - 3) + 2 * eta) * transform.logDiagonalDerivatives[m][i] }
                gradient[index] += g
            }
        }
        return (prior, jacobian)
    }

    /// Chain rule for term j: given ∂f/∂W_j (lower triangle, τ held fixed) and ∂f/∂log τ_j
    /// (W held fixed), adds ∂f/∂ log τ and ∂f/∂y (the correlation coordinates) to `gradient`.
    func backpropagate(term j: Int, factorGradient: [Double], logTauGradient: [Double], layout: PosteriorLayout,
                       gradient: UnsafeMutableBufferPointer<Double>) {
        let k = layout.termSizes[j]
        for (c, index) in layout.logTauRanges[j].enumerated() { gradient[index] += logTauGradient[c] }
        guard k > 1 else { return }
        let transform = correlations[j]
        for (m, index) in layout.correlationRanges[j].enumerated() {
            let dW = transform.factorDerivatives[m]
            var s = 0.0
            for c in 0..<k { for r in c..<k { s += factorGradient[r + c * k] * dW[r + c * k] } }
            gradient[index] += s
        }
    }
}

/// A log-posterior's value split into its parts (all normalizing constants included, so the
/// parts can be checked one by one against direct computations).
public struct LogPosteriorComponents: Sendable, Equatable {
    /// log p(y | …): given (β, b, σ) for `.full`; given (β, σ, Σ) with b integrated out for
    /// `.collapsed`; given (σ, Σ) with b and β integrated out (β's prior inside) for `.marginal`.
    public var logLikelihood: Double
    /// Log prior densities of the constrained parameters: β (not under `.marginal`), σ, τ, R
    /// (LKJ on the Cholesky factor), and N(0, I) on z under `.full`.
    public var logPrior: Double
    /// log |det| of the map from the unconstrained vector to (β, σ, τ, W's strict lower triangles, z).
    public var logJacobian: Double

    public var total: Double { logLikelihood + logPrior + logJacobian }
}
