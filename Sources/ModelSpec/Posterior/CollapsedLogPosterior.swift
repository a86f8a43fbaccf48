import Foundation
import CNumerics
import Linalg

/// The log-posterior with the random effects γ = b integrated out analytically through the
/// blocked Cholesky factor (`.collapsed`: HMC moves in β, log σ, log τ and the correlation
/// coordinates), or with β integrated out as well (`.marginal`), and its analytic gradient
/// (docs/math.md, eq. 45-55).
///
/// With T_j = chol(Σ_j)/σ, Λ = blockdiag(I ⊗ T_j) and M = ΛᵀZᵀZΛ + I,
///
///   log p(y | β, σ, Σ) = −n/2 log(2πσ²) − ½ log|M| − r²(β)/(2σ²),
///   r²(β) = min_u ‖ỹ − Xβ − ZΛu‖² + ‖u‖² = ℓ_yy² + ‖L_Xᵀβ − ℓ_X‖²   (eq. 45-46),
///
/// from one factorization of the system of eq. 3 (the one the ML deviance uses). The gradient
/// in the covariance parameters needs only the solution u* and the sums over levels of the
/// diagonal blocks of M⁻¹ (eq. 47-52), which come from the same factor; every term structure
/// (scalar or vector terms in any position) is handled. Cost per evaluation does not grow with
/// the number of rows: one factorization, the inverse of the dense factor's random (and, under
/// `.marginal`, X) part, and sparse work on the first term's pattern.
public struct CollapsedLogPosterior: Sendable {
    public let layout: PosteriorLayout
    public let priors: PriorSet
    let products: CrossProducts
    /// L at the last evaluation (depends: the covariance parameters and, under `.marginal`, σ).
    public private(set) var factor: BlockedCholesky
    /// W = D⁻¹ at the last evaluation (`InverseBlocks`), kept so its storage is reused.
    var inverseScratch: [Double] = []

    /// - Parameter integrateFixedEffects: false for `.collapsed` (β sampled), true for
    ///   `.marginal` (β integrated out under its normal prior; a prior SD of +∞ is flat).
    /// - Throws: `PosteriorError.integratedFormNeedsGaussian` for a binomial or Poisson design:
    ///   b integrates out in closed form only when y | b is Gaussian.
    public init(design: Design, priors: PriorSet, integrateFixedEffects: Bool = false) throws(PosteriorError) {
        let form: PosteriorForm = integrateFixedEffects ? .marginal : .collapsed
        guard design.family.isGaussian else { throw .integratedFormNeedsGaussian(form: form, family: design.family) }
        try priors.validateForPosterior(design: design)
        layout = PosteriorLayout(design: design, form: form)
        self.priors = priors
        products = design.crossProducts
        factor = BlockedCholesky(layout: products.layout)
    }

    public var dimension: Int { layout.dimension }
    var integratesFixedEffects: Bool { layout.form == .marginal }

    public mutating func logDensityAndGradient(_ position: UnsafeBufferPointer<Double>,
                                               gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        evaluate(position, gradient: gradient).total
    }

    /// The value split into likelihood, prior and Jacobian.
    public mutating func components(at position: [Double]) -> LogPosteriorComponents {
        var gradient = [Double](repeating: 0, count: dimension)
        return position.withUnsafeBufferPointer { x in
            gradient.withUnsafeMutableBufferPointer { evaluate(x, gradient: $0) }
        }
    }

    /// log p(y | β, σ, Σ) (`.collapsed`) or log p(y | σ, Σ) (`.marginal`) at constrained values,
    /// normalizing constants included; nil when the system is not positive definite.
    public mutating func logLikelihood(_ parameters: PosteriorParameters) -> Double? {
        let x = layout.unconstrain(parameters)
        let value = components(at: x).logLikelihood
        return value.isFinite ? value : nil
    }

    // MARK: - Evaluation

    /// What one factorization gives at a point.
    struct Solution {
        /// log|L| over the integrated rows (random effects, plus X under `.marginal`).
        var logDeterminant: Double
        /// r² (eq. 46; eq. 53 under `.marginal`).
        var penalizedResiduals: Double
        /// L_Xᵀβ − ℓ_X (`.collapsed`; empty otherwise).
        var fixedResidual: [Double]
        /// [u; β] (β only under `.marginal`), in the factor's order.
        var solution: [Double]
    }

    /// Loads Λᵀ A Λ + I (with β's prior under `.marginal`, eq. 53), factorizes, and solves for the
    /// conditional mean of u (and β), plus σ·`noise` before the back substitution when given
    /// (a draw, eq. 55). nil when the factorization fails.
    mutating func factorAndSolve(_ parameters: CovarianceParameters, beta: [Double], noise: [Double]?) -> Solution? {
        let blocked = products.layout
        let k1 = blocked.groupSize
        let q1 = blocked.firstDimension
        let fixedStart = products.fixedStart
        let p = products.fixedCount
        let last = products.responseIndex
        let sigma = parameters.sigma!   // Gaussian only (init)
        let variance = sigma * sigma
        products.loadScaled(into: &factor, factors: parameters.covarianceFactors.map { $0.map { $0 / sigma } })
        if integratesFixedEffects {
            for i in 0..<p where priors.fixed[i].sd.isFinite {
                let precision = 1 / (priors.fixed[i].sd * priors.fixed[i].sd)
                let mean = priors.fixed[i].mean
                factor.dense[fixedStart + i, fixedStart + i] += variance * precision
                factor.dense[last, fixedStart + i] += variance * mean * precision
                factor.dense[last, last] += variance * mean * mean * precision
            }
        }
        do { try factor.factorize() } catch { return nil }

        let integrated = integratesFixedEffects ? fixedStart + p : fixedStart
        let logDeterminant = factor.firstLogDiagonalSum() + factor.denseLogDiagonalSum(0 ..< integrated)
        if !logDeterminant.isFinite { return nil }
        // ℓ: L's ỹ row without its diagonal, over the integrated columns.
        var rhs = factor.lastRow(denseCount: integrated)
        let yPivot = factor.dense[last, last]
        var penalized = yPivot * yPivot
        var fixedResidual: [Double] = []
        if !integratesFixedEffects {
            // u* = L_θ⁻ᵀ (ℓ_u − L_Xθᵀ β) and r² = ℓ_yy² + ‖L_Xᵀβ − ℓ_X‖² (eq. 46).
            for g in 0..<blocked.groupCount {
                let start = blocked.patternOffsets[g]
                let count = blocked.patternCount(g)
                for a in 0..<count {
                    let row = Int(blocked.patternRows[start + a])
                    guard row >= fixedStart, row < fixedStart + p else { continue }
                    let b = beta[row - fixedStart]
                    for c in 0..<k1 { rhs[g * k1 + c] -= factor.offDiagonal[start * k1 + c * count + a] * b }
                }
            }
            for c in 0..<fixedStart {
                var s = 0.0
                for x in 0..<p { s += factor.dense[fixedStart + x, c] * beta[x] }
                rhs[q1 + c] -= s
            }
            fixedResidual = (0..<p).map { i in
                var s = -factor.dense[last, fixedStart + i]
                for x in i..<p { s += factor.dense[fixedStart + x, fixedStart + i] * beta[x] }
                return s
            }
            penalized += fixedResidual.reduce(0) { $0 + $1 * $1 }
        }
        if let noise {
            precondition(noise.count == rhs.count)
            for i in rhs.indices { rhs[i] += sigma * noise[i] }
        }
        factor.solveTransposed(&rhs, denseCount: integrated)
        return Solution(logDeterminant: logDeterminant, penalizedResiduals: penalized, fixedResidual: fixedResidual, solution: rhs)
    }

    private mutating func evaluate(_ x: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>) -> LogPosteriorComponents {
        precondition(x.count == dimension && gradient.count == dimension)
        for i in 0..<gradient.count { gradient[i] = 0 }
        let parameters = CovarianceParameters(layout: layout, position: x)
        let beta = layout.betaRange.map { x[$0] }
        guard let solved = factorAndSolve(parameters, beta: beta, noise: nil) else {
            return LogPosteriorComponents(logLikelihood: -.infinity, logPrior: 0, logJacobian: 0)
        }
        let blocked = products.layout
        let q1 = blocked.firstDimension
        let fixedStart = products.fixedStart
        let p = products.fixedCount
        let n = Double(products.observationCount)
        let sigma = parameters.sigma!   // Gaussian only (init)
        let variance = sigma * sigma
        let r2 = solved.penalizedResiduals

        // eq. 45 (eq. 54 under `.marginal`).
        var logLikelihood = -0.5 * n * log(2 * Double.pi * variance) - solved.logDeterminant - r2 / (2 * variance)
        var dLogSigma = -n + r2 / variance
        var logPrior = 0.0

        let integrated = integratesFixedEffects ? fixedStart + p : fixedStart
        let inverse = InverseBlocks(factor: factor, products: products, termSizes: layout.termSizes, integratedDense: integrated,
                                    scratch: &inverseScratch)

        if integratesFixedEffects {
            // eq. 54: p log σ and the prior's normalization; σ also enters through σ²/s².
            logLikelihood += Double(p) * log(sigma)
            dLogSigma += Double(p)
            for i in 0..<p {
                let prior = priors.fixed[i]
                if prior.sd.isFinite {
                    logLikelihood -= log(prior.sd)
                    let s2 = prior.sd * prior.sd
                    let deviation = solved.solution[q1 + fixedStart + i] - prior.mean
                    dLogSigma -= variance * inverse.denseInverseDiagonal[fixedStart + i] / s2
                    dLogSigma -= deviation * deviation / s2
                } else {
                    logLikelihood += 0.5 * log(2 * Double.pi)
                }
            }
        } else {
            // ∂/∂β = −L_X (L_Xᵀβ − ℓ_X) / σ² (eq. 46) and the normal prior.
            for (i, index) in layout.betaRange.enumerated() {
                var s = 0.0
                for c in 0...i { s += factor.dense[fixedStart + i, fixedStart + c] * solved.fixedResidual[c] }
                gradient[index] += -s / variance
                let prior = priors.fixed[i]
                if prior.sd.isFinite {
                    logPrior += PriorSet.logNormal(x[index], prior)
                    gradient[index] += -(x[index] - prior.mean) / (prior.sd * prior.sd)
                }
            }
        }

        // Covariance parameters: G_j = −ℓ_j I + S_j + U_j/σ² (eq. 50); ∂/∂W_j = W_j⁻ᵀ G_j,
        // ∂/∂log τ_jr = (W_j G_j W_j⁻¹)_rr, ∂/∂log σ gains −Σ_j tr G_j (eq. 51-52).
        for (j, k) in layout.termSizes.enumerated() {
            let levels = layout.levelCounts[j]
            let base = j == 0 ? 0 : q1 + products.termStarts[j]
            var gj = inverse.diagonalSums[j]
            for h in 0..<levels {
                for c in 0..<k { for r in 0..<k {
                    gj[r + c * k] += solved.solution[base + h * k + r] * solved.solution[base + h * k + c] / variance
                } }
            }
            for r in 0..<k { gj[r + r * k] -= Double(levels) }
            var trace = 0.0
            for r in 0..<k { trace += gj[r + r * k] }
            dLogSigma -= trace
            let w = parameters.correlations[j].factor
            let dW = SmallDense.solveLowerTransposed(w, gj, order: k)
            var dLogTau = [Double](repeating: 0, count: k)
            for r in 0..<k { for c in 0...r { dLogTau[r] += w[r + c * k] * dW[r + c * k] } }
            parameters.backpropagate(term: j, factorGradient: dW, logTauGradient: dLogTau, layout: layout, gradient: gradient)
        }
        gradient[layout.logSigmaIndex!] += dLogSigma

        let (variancePrior, jacobian) = parameters.addPriors(priors, layout: layout, gradient: gradient)
        return LogPosteriorComponents(logLikelihood: logLikelihood, logPrior: logPrior + variancePrior, logJacobian: jacobian)
    }
}
