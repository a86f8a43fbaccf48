import Foundation
import CNumerics
import Linalg
import ModelSpec

/// A blocked Gibbs sampler for a Gaussian linear mixed model in its natural parameterization
/// (docs/math.md, eq. 20-28, 61-64). One sweep draws
///
/// 1. σ and the first term's covariance Σ₁ with the first term's coefficients integrated out,
///    by univariate slice steps (eq. 63-66);
/// 2. (β, b) jointly from their Gaussian full conditional, through the blocked Cholesky factor
///    of the cross-product blocks (eq. 21);
/// 3. for each other scalar term its variance τ² and half-Cauchy auxiliary by inverse-gamma steps
///    (eq. 23-24); for each other vector term its covariance Σ_j by univariate slice steps on an
///    unconstrained parameterization (eq. 25-28); then the interweaving steps (eq. 29-35).
///
/// With `marginalizesFirstTermScales` off, step 1 is replaced by the centered steps of σ (eq.
/// 22-23) and Σ₁ after step 2.
///
/// Every step works from the cross-product blocks and k x k scatter matrices, so the cost of a
/// sweep does not grow with the number of observations. Not thread-safe: one sampler per chain.
///
/// With `residualScaleIsKnown` (a design whose family has no dispersion) σ stays 1 and is never
/// drawn: the sampler is then the conditionally Gaussian step of a data-augmentation sampler
/// (`AugmentedGibbs`), whose cross-products are refilled with the augmentation's weights and
/// working response before every sweep (docs/math.md, eq. 100-110).
public struct GibbsSampler {
    public internal(set) var design: Design
    public let priors: GibbsPriors
    /// σ ≡ 1: the design's family has no dispersion parameter (binomial, Poisson), so each
    /// observation's noise variance is carried by the cross-products' weights instead.
    public let residualScaleIsKnown: Bool

    /// β, in the order of X's columns.
    public internal(set) var beta: [Double]
    /// b per term, level-major: coefficient c of level h at `h * k_j + c`.
    public internal(set) var randomEffects: [[Double]]
    /// σ, the residual SD.
    public internal(set) var sigma: Double
    /// Per term, the lower Cholesky factor of Σ_j (column-major k_j x k_j; depends: Σ_j).
    public internal(set) var covarianceFactors: [[Double]]
    /// When set, sweeps draw only (β, b) and leave σ and every Σ_j where they are (for tests of
    /// the joint draw against its exact Gaussian conditional).
    public var holdsVarianceParametersFixed = false
    /// Univariate slice steps used for vector terms' covariances and the interweaving step.
    public var slice = SliceSampler()
    /// When set (the default), each sweep ends with the ancillarity-sufficiency interweaving step
    /// (Yu & Meng 2011; docs/math.md, eq. 29-35): every term's SDs are redrawn once more given the
    /// standardized effects u = chol(Σ_j)⁻¹ b, where they enter the likelihood rather than the
    /// prior of b. It leaves the posterior invariant and fixes the slow mixing of the centered
    /// step when τ is small relative to σ (few rows per group). Turn it off to compare.
    public var interweaves = true
    /// When set, each sweep ends with the interweaving step for σ (docs/math.md, eq. 36): σ, every
    /// τ and every b scaled jointly by a draw of σ'/σ given the standardized effects and the
    /// relative scales τ/σ. Exact (it leaves the posterior invariant); off by default because on
    /// the benchmark models σ is not the slowest parameter (docs/benchmarks.md).
    public var interweavesResidualScale = false
    /// When set (the default), each sweep starts by drawing σ and the first term's Σ₁ with the
    /// first term's coefficients integrated out (docs/math.md, eq. 63-66), in place of the
    /// centered σ step, Σ₁'s centered step and Σ₁'s interweaving. Turn it off to compare.
    public var marginalizesFirstTermScales = true
    /// Initial slice widths of that step's coordinates (x of eq. 66): the slice default until a
    /// chain's warmup tunes them (`beginWarmup`, `endWarmup`), fixed afterwards.
    public internal(set) var firstTermSliceWidths: [Double]
    /// Present during warmup only.
    var firstTermWidthAdaptation: SliceWidthAdaptation?
    /// When set (`marginalizeNestedScales`), the first-term step is the nested-scales step.
    var nestedIntercepts: NestedIntercepts?

    /// σ's half-Cauchy prior and its auxiliary variable.
    private var sigmaPrior: HalfCauchyVariance
    /// For scalar terms, τ_j's half-Cauchy prior and auxiliary; nil for vector terms.
    private var tauPriors: [HalfCauchyVariance?]
    /// For vector terms, the unconstrained coordinates of Σ_j (eq. 26), kept so slice steps never
    /// round-trip through the factor; nil for scalar terms (depends: Σ_j).
    var covarianceCoordinates: [[Double]?]
    /// Workspace for the (u, β) system (depends: σ, Σ of the last draw).
    var factor: BlockedCholesky

    /// A sampler started at σ² = the OLS residual variance of ỹ on X (from the cross-products)
    /// and Σ_j = σ² I (lme4's start T_j = I), with β and b at 0 until the first sweep draws them.
    /// Without a dispersion parameter σ = 1 and Σ_j = I.
    /// Throws `blockedFactorOverBudget` before allocating anything when the factor is over
    /// `BlockedFactorBudget.standard`.
    public init(design: Design, priors: GibbsPriors) throws(GibbsError) {
        let layout = design.crossProducts.layout
        if let excess = BlockedFactorBudget.standard.excess(layout) {
            throw .blockedFactorOverBudget(excess: excess, instead: GibbsError.insteadOfTheBlockedFactor(design))
        }
        try self.init(design: design, priors: priors, factorLayout: layout)
    }

    /// The same start holding the state only: with no factor (`factorLayout` empty) it cannot
    /// sweep, which is all `CollapsedCrossedGibbs` needs of it (its designs may be far over the
    /// factor's budget).
    init(stateOf design: Design, priors: GibbsPriors) throws(GibbsError) {
        let none = BlockedLayout(groupCount: 0, groupSize: 1, denseDimension: 0, patternOffsets: [0], patternRows: [])
        try self.init(design: design, priors: priors, factorLayout: none)
    }

    private init(design: Design, priors: GibbsPriors, factorLayout: BlockedLayout) throws(GibbsError) {
        try priors.validate(fixedCount: design.fixedCount, termSizes: design.terms.map(\.size))
        self.design = design
        self.priors = priors
        residualScaleIsKnown = !design.family.hasDispersion
        beta = Array(repeating: 0, count: design.fixedCount)
        randomEffects = design.terms.map { Array(repeating: 0, count: $0.effectCount) }
        let sigma = residualScaleIsKnown ? 1 : Self.ordinaryLeastSquaresSigma(design.crossProducts)
        self.sigma = sigma
        covarianceFactors = design.terms.map { term in
            let k = term.size
            return (0..<(k * k)).map { $0 % (k + 1) == 0 ? sigma : 0 }
        }
        sigmaPrior = HalfCauchyVariance(scale: priors.sigmaScale)
        tauPriors = design.terms.enumerated().map { j, term in
            term.size == 1 ? HalfCauchyVariance(scale: priors.tauScales[j][0]) : nil
        }
        covarianceCoordinates = []
        factor = BlockedCholesky(layout: factorLayout)
        let firstOrder = design.terms.first?.size ?? 0
        firstTermSliceWidths = Array(repeating: SliceSampler().width, count: 1 + firstOrder * (firstOrder + 1) / 2)
        covarianceCoordinates = coordinates(of: covarianceFactors)
    }

    /// The unconstrained coordinates of each vector term's Σ_j from its Cholesky factor.
    private func coordinates(of factors: [[Double]]) -> [[Double]?] {
        zip(design.terms, factors).map { term, l in
            term.size == 1 ? nil : CovarianceTarget.unconstrained(factor: l, order: term.size)
        }
    }

    /// Σ_j per term (column-major k_j x k_j).
    public var covariances: [[Double]] {
        zip(design.terms, covarianceFactors).map { term, l in SmallDense.outerOfLower(l, order: term.size) }
    }

    /// Sets σ and every Σ_j (column-major k_j x k_j, symmetric positive definite).
    public mutating func setVarianceParameters(sigma: Double, covariances: [[Double]]) throws(GibbsError) {
        precondition(sigma > 0 && covariances.count == design.terms.count)
        precondition(!residualScaleIsKnown || sigma == 1, "σ is 1 for a family without dispersion")
        var factors: [[Double]] = []
        for (j, term) in design.terms.enumerated() {
            let k = term.size
            precondition(covariances[j].count == k * k)
            var l = covariances[j]
            let ok = l.withUnsafeMutableBufferPointer { SmallDense.choleskyLowerInPlace($0.baseAddress!, order: k) }
            guard ok else { throw .covarianceNotPositiveDefinite(term: j) }
            for c in 0..<k { for r in 0..<c { l[r + c * k] = 0 } }
            factors.append(l)
        }
        self.sigma = sigma
        covarianceFactors = factors
        covarianceCoordinates = coordinates(of: factors)
    }

    /// One sweep: (β, b) | σ, Σ; then, unless held fixed, σ | β, b, each Σ_j | b_j, and (when
    /// `interweaves`) each term's SDs given its standardized effects (eq. 29-35).
    public mutating func sweep(random: inout RandomStream) throws(GibbsError) {
        let marginalizes = marginalizesFirstTermScales && !holdsVarianceParametersFixed
        if marginalizes {
            if let nestedIntercepts { updateNestedScales(nestedIntercepts, random: random) } else { updateFirstTermScales(random: random) }
        }
        var noise = [Double](repeating: 0, count: design.crossProducts.layout.firstDimension + design.crossProducts.responseIndex)
        random.fillStandardNormals(&noise)
        let draw = try solveCoefficients(noise: noise)
        beta = draw.beta
        randomEffects = draw.randomEffects
        if holdsVarianceParametersFixed { return }
        let centeredTerms = (marginalizes ? 1 : 0)..<design.terms.count
        if !marginalizes && !residualScaleIsKnown { updateSigma(random: random) }
        updateCovariances(terms: centeredTerms, random: random)
        if interweaves {
            for j in centeredTerms { interweaveScales(term: j, random: random) }
        }
        if interweavesResidualScale && !residualScaleIsKnown { interweaveResidualScale(random: random) }
    }

    /// σ² | β, b, a and the auxiliary a | σ² (eq. 22-23).
    mutating func updateSigma(random: RandomStream) {
        let ssr = residualSumOfSquares(beta: beta, randomEffects: randomEffects)
        let variance = sigmaPrior.update(variance: sigma * sigma, count: design.observationCount, sumOfSquares: ssr, random: random)
        sigma = variance.squareRoot()
    }

    /// Each Σ_j | b_j of `terms`: inverse-gamma steps for scalar terms (eq. 24; with
    /// `exactScalarScales`, the ordered overrelaxation of eq. 120 over exact draws of eq. 119
    /// where they succeed), slice steps for vector terms (eq. 28).
    mutating func updateCovariances(terms: Range<Int>, random: RandomStream, exactScalarScales: Bool = false) {
        for j in terms {
            let term = design.terms[j]
            let k = term.size
            let scatter = Self.scatter(randomEffects[j], order: k)
            if var prior = tauPriors[j] {
                let tau = covarianceFactors[j][0]
                let exact = exactScalarScales
                    ? HalfCauchyVariance.overrelaxedVariance(current: tau * tau, scale: prior.scale, count: term.levelCount,
                                                             sumOfSquares: scatter[0], random: random) : nil
                let variance = exact ?? prior.update(variance: tau * tau, count: term.levelCount, sumOfSquares: scatter[0], random: random)
                tauPriors[j] = prior
                covarianceFactors[j] = [variance.squareRoot()]
            } else {
                let target = CovarianceTarget(scatter: scatter, levelCount: term.levelCount,
                                              scales: priors.tauScales[j], eta: priors.lkjEta[j])
                var x = covarianceCoordinates[j]!
                covarianceCoordinates[j] = nil   // x is then this array's only reference: no copy
                let slice = self.slice
                withUnsafeTemporaryAllocation(of: Double.self, capacity: target.workspaceCount) { workspace in
                    let scratch = workspace.baseAddress!
                    x.withUnsafeMutableBufferPointer { x in
                        slice.sweep(x, random: random) { target.logDensity($0, workspace: scratch) }
                    }
                }
                covarianceCoordinates[j] = x
                covarianceFactors[j] = target.covarianceFactor(x)
            }
        }
    }

    /// ‖ỹ − Xβ − Zb‖² from the cross-product blocks: wᵀ A w with w = [b; β; −1] (eq. 22), so
    /// the data rows are never read.
    public func residualSumOfSquares(beta: [Double], randomEffects: [[Double]]) -> Double {
        let products = design.crossProducts
        let layout = products.layout
        let k1 = layout.groupSize
        let groupCount = layout.groupCount
        // The dense coordinates of w: the other terms' b, β, then −1 for ỹ.
        let w = denseCoefficients(beta: beta, randomEffects: randomEffects)
        var total = 0.0
        randomEffects[0].withUnsafeBufferPointer { b1 in
        products.diagonal.withUnsafeBufferPointer { diagonal in
        products.offDiagonal.withUnsafeBufferPointer { offDiagonal in
        layout.patternOffsets.withUnsafeBufferPointer { offsets in
        layout.patternRows.withUnsafeBufferPointer { rows in
        w.withUnsafeBufferPointer { w in
            let b1 = b1.baseAddress!, diagonal = diagonal.baseAddress!, offDiagonal = offDiagonal.baseAddress!
            let offsets = offsets.baseAddress!, rows = rows.baseAddress!, w = w.baseAddress!
            for g in 0..<groupCount {
                let base = g * k1 * k1
                for c in 0..<k1 { for r in 0..<k1 {
                    total += b1[g * k1 + r] * diagonal[base + c * k1 + r] * b1[g * k1 + c]
                } }
                let start = offsets[g]
                let count = offsets[g + 1] - start
                let groupRows = rows + start
                var cross = 0.0
                for c in 0..<k1 {
                    let bc = b1[g * k1 + c]
                    let column = offDiagonal + start * k1 + c * count
                    for a in 0..<count {
                        cross += column[a] * w[Int(groupRows[a])] * bc
                    }
                }
                total += 2 * cross
            }
        } } } } } }
        return total + denseQuadraticForm(w)
    }

    /// wᵀ D w for the dense block D of the cross-products and w over its coordinates: the
    /// residual sum of squares with the first term's coefficients at zero.
    func denseQuadraticForm(_ w: [Double]) -> Double {
        let m = design.crossProducts.layout.denseDimension
        var total = 0.0
        design.crossProducts.dense.storage.withUnsafeBufferPointer { d in
            w.withUnsafeBufferPointer { w in
                if m >= Self.blasDenseDimension {
                    // wᵀ D w through BLAS (vectorized; sums in another order than the loop below).
                    withUnsafeTemporaryAllocation(of: Double.self, capacity: m) { t in
                        cblas_dsymv(CblasColMajor, CblasLower, Int32(m), 1, d.baseAddress!, Int32(m),
                                    w.baseAddress!, 1, 0, t.baseAddress!, 1)
                        total = cblas_ddot(Int32(m), w.baseAddress!, 1, t.baseAddress!, 1)
                    }
                    return
                }
                for c in 0..<m where w[c] != 0 {
                    var s = 0.0
                    for r in 0..<m { s += d[r + c * m] * w[r] }
                    total += s * w[c]
                }
            }
        }
        return total
    }

    /// Dense blocks of at least this order (crossed designs: the second factor's levels) go
    /// through BLAS in the residual sum of squares and the interweaving's cross-products; smaller
    /// ones through plain loops, cheaper than a BLAS call at that size.
    static let blasDenseDimension = 64

    /// Σ_h b_h b_hᵀ (column-major k x k) of one term's level-major coefficients.
    static func scatter(_ b: [Double], order k: Int) -> [Double] {
        var s = [Double](repeating: 0, count: k * k)
        s.withUnsafeMutableBufferPointer { s in
            b.withUnsafeBufferPointer { b in
                let s = s.baseAddress!
                var level = b.baseAddress!
                for _ in 0..<(b.count / k) {
                    for c in 0..<k { for r in 0..<k { s[r + c * k] += level[r] * level[c] } }
                    level += k
                }
            }
        }
        return s
    }

    /// √(RSS / (n − p)) of the least-squares fit of ỹ on X, from the X and ỹ rows of the dense
    /// block: the last pivot of chol([XᵀX Xᵀỹ; ỹᵀX ỹᵀỹ]) is √RSS. Falls back to √(ỹᵀỹ / n)
    /// when X is rank-deficient or the fit is exact.
    static func ordinaryLeastSquaresSigma(_ products: CrossProducts) -> Double {
        let m = products.layout.denseDimension
        let start = products.fixedStart
        let size = m - start
        let n = Double(products.observationCount)
        var block = [Double](repeating: 0, count: size * size)
        for c in 0..<size { for r in 0..<size { block[r + c * size] = products.dense[start + r, start + c] } }
        let yy = products.dense[m - 1, m - 1]
        let fallback = (yy / n).squareRoot()
        let info = block.withUnsafeMutableBufferPointer {
            LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(size), $0.baseAddress!, Int32(size))
        }
        let residualDF = n - Double(products.fixedCount)
        guard info == 0, residualDF > 0 else { return fallback > 0 ? fallback : 1 }
        let pivot = block[size * size - 1]
        let sigma = pivot / residualDF.squareRoot()
        return sigma > 0 ? sigma : (fallback > 0 ? fallback : 1)
    }
}

extension SliceSampler {
    /// One slice step on each coordinate of `x` in turn, targeting `logDensity`.
    public func sweep(_ x: [Double], target logDensity: ([Double]) -> Double, random: RandomSource) -> [Double] {
        var x = x
        var current = logDensity(x)
        precondition(current.isFinite, "slice sampling needs a finite log density at the start")
        for i in x.indices {
            var trial = x
            let step = step(from: x[i], logDensityAtStart: current, random: random) { value in
                trial[i] = value
                return logDensity(trial)
            }
            x[i] = step.x
            current = step.logDensity
        }
        return x
    }
}
