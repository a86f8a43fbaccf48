import Foundation
import CNumerics
import Linalg
import ModelSpec

/// A collapsed Gibbs sampler for models whose random-effects terms are all scalar (crossed or
/// nested random intercepts, or single random slopes), after Papaspiliopoulos, Roberts & Zanella
/// (2020), "Scalable inference for crossed random effects models", Biometrika 107(1) (docs/math.md,
/// eq. 56-60). It targets the posterior the blocked `GibbsSampler` targets (same `GibbsPriors`:
/// normal β, half-Cauchy σ and τ_j) and keeps its state in a `GibbsSampler` (`state`), so the
/// output row and `lp__` (`GibbsSampler.logJointDensity`) are the blocked sampler's own.
///
/// One sweep:
///
/// 1. for each term k in turn, the block (β, a_k) from its Gaussian full conditional given the
///    other terms' effects, σ and τ_k (eq. 57-59): β from its marginal, whose precision is the
///    Schur complement of the diagonal a_k block, then a_k | β level by level;
/// 2. σ² and each τ_k² by the inverse-gamma half-Cauchy steps of eq. 22-24.
///
/// Every step is an exact Gibbs step. A sweep reads the n rows a few times per term, so its cost
/// grows linearly with n and no sparse factorization is made; the blocked sampler's joint draw
/// of (β, b) costs a Cholesky factor of the cross-product blocks instead, which on large crossed
/// designs (InstEval) is far dearer (docs/benchmarks.md, "Large crossed designs").
/// Not thread-safe: one sampler per chain.
public struct CollapsedCrossedGibbs {
    /// The current state (β, b, σ, τ) in the blocked sampler's layout; its `logJointDensity()` is
    /// `lp__`. Its own sweep is never called.
    public private(set) var state: GibbsSampler

    /// The rows a sweep reads, built once and shared (copy on write) by every chain's copy.
    private let rows: Rows
    /// σ's and each τ_k's half-Cauchy prior with its auxiliary variable.
    private var sigmaPrior: HalfCauchyVariance
    private var tauPriors: [HalfCauchyVariance]
    /// ỹ − Xβ − Σ_k Z_k a_k for the current state, kept current through the sweep.
    private var residual: [Double]

    /// The data of a sweep: ỹ = y − offset, X (row-major n x p), per term its level codes and
    /// coefficient values z_i (the term's single model-matrix column), and per level Σ z_i² and
    /// Σ z_i x_i (level-major, p per level).
    private struct Rows {
        let n: Int, p: Int
        let y: [Double]
        let x: [Double]
        let codes: [[Int32]]
        let z: [[Double]]
        let levelCounts: [Int]
        let zSquareSums: [[Double]]
        let zxSums: [[Double]]
        /// XᵀX (p x p, symmetric).
        let xtx: [Double]
    }

    /// Throws when a term has more than one coefficient (the sampler's conditionals are for
    /// scalar terms), naming the term as the formula writes it.
    public static func checkSupports(_ design: Design) throws(GibbsError) {
        if let term = design.terms.first(where: { $0.size > 1 }) {
            let coefficients = term.coefficientNames.map { $0 == "(Intercept)" ? "1" : $0 }
            throw .termNotScalar(term: "(\(coefficients.joined(separator: " + ")) | \(term.groupingName))",
                                 coefficients: term.size)
        }
    }

    /// Builds the sampler at the blocked sampler's start (σ = the OLS residual SD, τ_j = σ, β and
    /// b at 0 until the first sweep draws them). Throws when a term has more than one coefficient.
    public init(design: Design, priors: GibbsPriors) throws(GibbsError) {
        try Self.checkSupports(design)
        state = try GibbsSampler(design: design, priors: priors)
        let n = design.observationCount, p = design.fixedCount
        let y = zip(design.response, design.offset).map { $0 - $1 }
        let fixed = design.fixed.matrix
        var x = [Double](repeating: 0, count: n * p)
        for i in 0..<n { for c in 0..<p { x[i * p + c] = fixed[i, c] } }
        var z: [[Double]] = [], zSquareSums: [[Double]] = [], zxSums: [[Double]] = []
        for term in design.terms {
            let values = (0..<n).map { term.modelRows[$0, 0] }
            var squares = [Double](repeating: 0, count: term.levelCount)
            var sums = [Double](repeating: 0, count: term.levelCount * p)
            for i in 0..<n {
                let h = Int(term.groupCodes[i]), w = values[i]
                squares[h] += w * w
                for c in 0..<p { sums[h * p + c] += w * x[i * p + c] }
            }
            z.append(values)
            zSquareSums.append(squares)
            zxSums.append(sums)
        }
        var xtx = [Double](repeating: 0, count: p * p)
        for i in 0..<n { for a in 0..<p { for b in 0..<p { xtx[a * p + b] += x[i * p + a] * x[i * p + b] } } }
        rows = Rows(n: n, p: p, y: y, x: x, codes: design.terms.map(\.groupCodes), z: z,
                    levelCounts: design.terms.map(\.levelCount), zSquareSums: zSquareSums, zxSums: zxSums, xtx: xtx)
        sigmaPrior = HalfCauchyVariance(scale: priors.sigmaScale)
        tauPriors = priors.tauScales.map { HalfCauchyVariance(scale: $0[0]) }
        residual = y
    }

    /// One sweep: each (β, a_k) | a_{−k}, σ, τ_k in turn (eq. 57-59), then σ | β, a and each
    /// τ_k | a_k (eq. 22-24).
    public mutating func sweep(random: inout RandomStream) throws(GibbsError) {
        let rows = self.rows
        let n = rows.n, p = rows.p
        let priors = state.priors
        var beta = state.beta
        var effects = state.randomEffects
        let sigma = state.sigma
        var tau = state.covarianceFactors.map { $0[0] }
        let variance = sigma * sigma
        // The prior's contribution to β's precision and linear term (0 for a flat prior).
        let priorPrecision = priors.fixedSDs.map { $0.isFinite ? 1 / ($0 * $0) : 0 }
        for k in 0..<rows.levelCounts.count {
            let levels = rows.levelCounts[k]
            let codes = rows.codes[k], z = rows.z[k]
            let a = effects[k]
            // r = ỹ − Σ_{j≠k} Z_j a_j = residual + Xβ + Z_k a_k; its per-level sums Σ z_i r_i and Xᵀr.
            var levelSums = [Double](repeating: 0, count: levels)
            var xr = [Double](repeating: 0, count: p)
            for i in 0..<n {
                let h = Int(codes[i])
                var r = residual[i] + z[i] * a[h]
                for c in 0..<p { r += rows.x[i * p + c] * beta[c] }
                levelSums[h] += z[i] * r
                for c in 0..<p { xr[c] += rows.x[i * p + c] * r }
            }
            // Precision of a_h: d_h = Σ z_i²/σ² + 1/τ²; β's marginal precision and linear term (eq. 58).
            let tauPrecision = 1 / (tau[k] * tau[k])
            var precision = rows.xtx.map { $0 / variance }
            var linear = xr.map { $0 / variance }
            for c in 0..<p {
                precision[c * p + c] += priorPrecision[c]
                linear[c] += priorPrecision[c] * priors.fixedMeans[c]
            }
            let sums = rows.zxSums[k], squares = rows.zSquareSums[k]
            for h in 0..<levels {
                let d = squares[h] / variance + tauPrecision
                for c in 0..<p {
                    let sc = sums[h * p + c] / variance
                    linear[c] -= sc * (levelSums[h] / variance) / d
                    for e in 0..<p { precision[c * p + e] -= sc * (sums[h * p + e] / variance) / d }
                }
            }
            // β ~ N(P⁻¹ c, P⁻¹) by Cholesky P = L Lᵀ: β = L⁻ᵀ (L⁻¹ c + ε).
            var l = precision
            let ok = l.withUnsafeMutableBufferPointer { SmallDense.choleskyLowerInPlace($0.baseAddress!, order: p) }
            guard ok else {
                throw .coefficientSystemNotPositiveDefinite("β's precision given the effects of every term but \(k + 1)")
            }
            var v = linear
            l.withUnsafeBufferPointer { lp in v.withUnsafeMutableBufferPointer { SmallDense.solveLower(lp.baseAddress!, order: p, $0.baseAddress!) } }
            for c in 0..<p { v[c] += random.standardNormal() }
            l.withUnsafeBufferPointer { lp in v.withUnsafeMutableBufferPointer { SmallDense.solveLowerTransposed(lp.baseAddress!, order: p, $0.baseAddress!) } }
            let newBeta = v
            // a_h | β: mean Σ_{i∈h} z_i (r_i − x_iβ) / (σ² d_h), variance 1/d_h (eq. 59).
            var newA = [Double](repeating: 0, count: levels)
            for h in 0..<levels {
                var s = levelSums[h]
                for c in 0..<p { s -= sums[h * p + c] * newBeta[c] }
                let d = squares[h] / variance + tauPrecision
                newA[h] = s / variance / d + random.standardNormal() / d.squareRoot()
            }
            // residual ← r − Xβ' − Z_k a'_k.
            for i in 0..<n {
                let h = Int(codes[i])
                var r = residual[i] + z[i] * (a[h] - newA[h])
                for c in 0..<p { r += rows.x[i * p + c] * (beta[c] - newBeta[c]) }
                residual[i] = r
            }
            beta = newBeta
            effects[k] = newA
        }
        let ssr = residual.reduce(0) { $0 + $1 * $1 }
        let newSigma = sigmaPrior.update(variance: variance, count: n, sumOfSquares: ssr, random: random).squareRoot()
        for k in 0..<tau.count {
            let ss = effects[k].reduce(0) { $0 + $1 * $1 }
            tau[k] = tauPriors[k].update(variance: tau[k] * tau[k], count: rows.levelCounts[k], sumOfSquares: ss, random: random).squareRoot()
        }
        state.beta = beta
        state.randomEffects = effects
        state.sigma = newSigma
        state.covarianceFactors = tau.map { [$0] }
    }
}

extension CollapsedCrossedGibbs: GibbsChainSampler {
    public var beta: [Double] { state.beta }
    public var randomEffects: [[Double]] { state.randomEffects }
    public var sigma: Double { state.sigma }
    public var covariances: [[Double]] { state.covariances }
    public func logJointDensity() -> Double { state.logJointDensity() }
}
