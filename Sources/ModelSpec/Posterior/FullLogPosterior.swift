import Foundation
import CNumerics
import Linalg

/// The full log-posterior of a (generalized) linear mixed model in (β, log σ, log τ,
/// correlations, z) with the random effects non-centered, b_{j,h} = diag(τ_j) W_j z_{j,h}, and its
/// analytic gradient (docs/math.md, eq. 40-44 and 90-93):
///
///   log p = log p(y | β, b[, σ]) + Σ log N(β_i | m_i, s_i²) + log N(z | 0, I)
///         [+ log HC(σ)] + Σ log HC(τ_jc) + Σ_j log LKJ(W_j | η_j) + log-Jacobians.
///
/// How y enters is a `Likelihood` chosen once from the family; the priors, the map z ↦ b and the
/// back-propagation from ∂/∂b to z, τ and the correlation coordinates are shared:
/// - Gaussian: log N(y | Xβ + Zb, σ² I) with the residual sum of squares wᵀ A w, w = [b; β; −1],
///   on the cross-product blocks (eq. 22, 41, 44), so an evaluation costs O(q₁ k₁² + pattern + m²)
///   whatever the number of rows;
/// - binomial, Poisson (no σ coordinate): the family's log-likelihood summed over the rows
///   through η = offset + Xβ + Zb (`FamilyLikelihood`, eq. 90-93), two passes over the rows.
///
/// A value type that owns its scratch: each chain uses its own copy.
public struct FullLogPosterior: Sendable {
    /// How y enters the log-posterior, fixed by the family at construction.
    enum Likelihood: Sendable {
        /// Gaussian: wᵀAw on the cross-product blocks (eq. 41).
        case crossProducts(CrossProducts)
        /// Binomial or Poisson: per-row log-likelihood through η (eq. 90-93).
        case rows(FamilyLikelihood)
    }

    public let layout: PosteriorLayout
    public let priors: PriorSet
    let likelihood: Likelihood
    /// Where term j's b starts in `effects` (= its z's offset in the layout's z block).
    private let effectStarts: [Int]
    /// b = L_j z_j per term, level-major (scratch), and ∂ log p(y | …)/∂b in the same order.
    private var effects: [Double]
    private var effectsGradient: [Double]
    /// Gaussian scratch: w = [b₁; b₂…b_t; β; −1] and g = A w in the blocked layout (empty otherwise).
    private var w: [Double] = []
    private var g: [Double] = []
    /// Binomial and Poisson scratch: η, then r, per row (empty for Gaussian models).
    private var eta: [Double] = []

    public init(design: Design, priors: PriorSet) throws(PosteriorError) {
        try priors.validateForPosterior(design: design)
        layout = PosteriorLayout(design: design, form: .full)
        self.priors = priors
        let zStart = layout.effectRanges.first?.lowerBound ?? layout.dimension
        effectStarts = layout.effectRanges.map { $0.lowerBound - zStart }
        effects = [Double](repeating: 0, count: layout.dimension - zStart)
        effectsGradient = effects
        if design.family.isGaussian {
            let products = design.crossProducts
            likelihood = .crossProducts(products)
            w = [Double](repeating: 0, count: products.layout.dimension)
            g = w
        } else {
            likelihood = .rows(FamilyLikelihood(design: design))
            eta = [Double](repeating: 0, count: design.observationCount)
        }
    }

    public var dimension: Int { layout.dimension }

    /// log p at `position`, with ∇ log p written into `gradient`; −∞ (gradient unspecified)
    /// where a value is not finite.
    public mutating func logDensityAndGradient(_ position: UnsafeBufferPointer<Double>,
                                               gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        evaluate(position, gradient: gradient).total
    }

    /// The value split into likelihood, prior and Jacobian (`gradient` receives the total's gradient).
    public mutating func components(at position: [Double]) -> LogPosteriorComponents {
        var gradient = [Double](repeating: 0, count: dimension)
        return position.withUnsafeBufferPointer { x in
            gradient.withUnsafeMutableBufferPointer { evaluate(x, gradient: $0) }
        }
    }

    private mutating func evaluate(_ x: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>) -> LogPosteriorComponents {
        precondition(x.count == dimension && gradient.count == dimension)
        for i in 0..<gradient.count { gradient[i] = 0 }
        let parameters = CovarianceParameters(layout: layout, position: x)
        let sizes = layout.termSizes

        // b = L_j z (eq. 40).
        for (j, k) in sizes.enumerated() {
            let l = parameters.covarianceFactors[j]
            let range = layout.effectRanges[j]
            let base = effectStarts[j]
            for h in 0..<(range.count / k) {
                for r in 0..<k {
                    var s = 0.0
                    for c in 0...r { s += l[r + c * k] * x[range.lowerBound + h * k + c] }
                    effects[base + h * k + r] = s
                }
            }
        }

        // log p(y | …), ∂/∂β and ∂/∂log σ into `gradient`, ∂/∂b into `effectsGradient`.
        let logLikelihood: Double
        switch likelihood {
        case .crossProducts(let products):
            logLikelihood = gaussianLogLikelihood(products, x, sigma: parameters.sigma!, gradient: gradient)
        case .rows(let rows):
            logLikelihood = effects.withUnsafeBufferPointer { b in
                effectsGradient.withUnsafeMutableBufferPointer { gb in
                    eta.withUnsafeMutableBufferPointer { scratch in
                        rows.logLikelihood(beta: UnsafeBufferPointer(rebasing: x[layout.betaRange]), effects: b, effectStarts: effectStarts,
                                           eta: scratch, betaGradient: UnsafeMutableBufferPointer(rebasing: gradient[layout.betaRange]),
                                           effectsGradient: gb)
                    }
                }
            }
        }

        // β: the normal prior.
        var logPrior = 0.0
        for (i, index) in layout.betaRange.enumerated() {
            let prior = priors.fixed[i]
            if prior.sd.isFinite {
                logPrior += PriorSet.logNormal(x[index], prior)
                gradient[index] += -(x[index] - prior.mean) / (prior.sd * prior.sd)
            }
        }

        // z: ∂/∂z_h = L_jᵀ (∂/∂b_h) − z_h; ∂/∂L_j = Σ_h (∂/∂b_h) z_hᵀ (eq. 44, 93).
        for (j, k) in sizes.enumerated() {
            let l = parameters.covarianceFactors[j]
            let range = layout.effectRanges[j]
            let base = effectStarts[j]
            var dL = [Double](repeating: 0, count: k * k)
            for h in 0..<(range.count / k) {
                let zBase = range.lowerBound + h * k
                for r in 0..<k {
                    let gb = effectsGradient[base + h * k + r]
                    for c in 0...r {
                        dL[r + c * k] += gb * x[zBase + c]
                        gradient[zBase + c] += l[r + c * k] * gb
                    }
                }
                for c in 0..<k {
                    let z = x[zBase + c]
                    logPrior += -0.5 * z * z
                    gradient[zBase + c] -= z
                }
            }
            logPrior += -0.5 * Double(range.count) * log(2 * Double.pi)
            // L = diag(τ) W: ∂/∂W_rc = τ_r ∂/∂L_rc, ∂/∂log τ_r = Σ_c L_rc ∂/∂L_rc.
            var dW = dL
            var dLogTau = [Double](repeating: 0, count: k)
            for r in 0..<k {
                for c in 0...r {
                    dW[r + c * k] = parameters.tau[j][r] * dL[r + c * k]
                    dLogTau[r] += l[r + c * k] * dL[r + c * k]
                }
            }
            parameters.backpropagate(term: j, factorGradient: dW, logTauGradient: dLogTau, layout: layout, gradient: gradient)
        }

        let (variancePrior, jacobian) = parameters.addPriors(priors, layout: layout, gradient: gradient)
        return LogPosteriorComponents(logLikelihood: logLikelihood, logPrior: logPrior + variancePrior, logJacobian: jacobian)
    }

    /// log N(y | Xβ + Zb, σ² I) with SSR = wᵀAw (eq. 41); adds ∂/∂log σ = −n + SSR/σ² and
    /// ∂/∂β = −g_β/σ² to `gradient` and sets ∂/∂b = −g_b/σ² (eq. 44).
    private mutating func gaussianLogLikelihood(_ products: CrossProducts, _ x: UnsafeBufferPointer<Double>, sigma: Double,
                                                gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        let blocked = products.layout
        let q1 = blocked.firstDimension
        let m = blocked.denseDimension
        // w = [b; β; −1] (eq. 22).
        for (j, range) in layout.effectRanges.enumerated() {
            let base = j == 0 ? 0 : q1 + products.termStarts[j]
            for i in 0..<range.count { w[base + i] = effects[effectStarts[j] + i] }
        }
        for (i, index) in layout.betaRange.enumerated() { w[q1 + products.fixedStart + i] = x[index] }
        w[q1 + m - 1] = -1

        let ssr = quadraticForm(products)
        let n = Double(products.observationCount)
        let variance = sigma * sigma
        let logLikelihood = -0.5 * n * log(2 * Double.pi) - n * log(sigma) - ssr / (2 * variance)
        gradient[layout.logSigmaIndex!] += -n + ssr / variance
        for (i, index) in layout.betaRange.enumerated() {
            gradient[index] += -g[q1 + products.fixedStart + i] / variance
        }
        for (j, range) in layout.effectRanges.enumerated() {
            let base = j == 0 ? 0 : q1 + products.termStarts[j]
            for i in 0..<range.count { effectsGradient[effectStarts[j] + i] = -g[base + i] / variance }
        }
        return logLikelihood
    }

    /// g ← A w on the blocked storage and returns wᵀ A w (eq. 22): the first term's diagonal
    /// blocks, its sparse column blocks (used twice, as A is symmetric) and the dense block.
    private mutating func quadraticForm(_ products: CrossProducts) -> Double {
        let blocked = products.layout
        let k1 = blocked.groupSize
        let q1 = blocked.firstDimension
        let m = blocked.denseDimension
        let kk = k1 * k1
        return w.withUnsafeBufferPointer { wp in
            g.withUnsafeMutableBufferPointer { gp in
                let w1 = wp.baseAddress!, w2 = wp.baseAddress! + q1
                let g1 = gp.baseAddress!, g2 = gp.baseAddress! + q1
                products.dense.storage.withUnsafeBufferPointer { a in
                    cblas_dgemv(CblasColMajor, CblasNoTrans, Int32(m), Int32(m), 1, a.baseAddress!, Int32(m), w2, 1, 0, g2, 1)
                }
                products.diagonal.withUnsafeBufferPointer { d in
                    products.offDiagonal.withUnsafeBufferPointer { o in
                        blocked.patternRows.withUnsafeBufferPointer { rows in
                            for group in 0..<blocked.groupCount {
                                let start = blocked.patternOffsets[group]
                                let count = blocked.patternOffsets[group + 1] - start
                                let block = o.baseAddress! + start * k1
                                for r in 0..<k1 {
                                    var s = 0.0
                                    for c in 0..<k1 { s += d[group * kk + r + c * k1] * w1[group * k1 + c] }
                                    for a in 0..<count { s += block[a + r * count] * w2[Int(rows[start + a])] }
                                    g1[group * k1 + r] = s
                                }
                                for a in 0..<count {
                                    var s = 0.0
                                    for c in 0..<k1 { s += block[a + c * count] * w1[group * k1 + c] }
                                    g2[Int(rows[start + a])] += s
                                }
                            }
                        }
                    }
                }
                var sum = 0.0
                for i in 0..<(q1 + m) { sum += wp[i] * gp[i] }
                return sum
            }
        }
    }
}
