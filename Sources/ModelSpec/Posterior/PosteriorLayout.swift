import Foundation
import Linalg

/// Which log-posterior a sampler moves in (docs/math.md, eq. 40-55, 90). Binomial and Poisson
/// models have only `.full`.
public enum PosteriorForm: String, Sendable, Equatable, CaseIterable {
    /// β, σ, τ, correlations and the non-centered standardized random effects z
    /// (b_{j,h} = diag(τ_j) W_j z_{j,h}).
    case full
    /// β, σ, τ, correlations; γ = b integrated out through the blocked Cholesky factor.
    case collapsed
    /// σ, τ, correlations; both b and β integrated out (β's normal prior, or a flat one for an
    /// SD of +∞, enters the Gaussian integral).
    case marginal
}

/// The unconstrained parameter vector of a log-posterior and its map to the constrained values.
///
/// Order (docs/math.md, eq. 40):
///   [β (p; not under `.marginal`); log σ (Gaussian models only: binomial and Poisson models
///    have no dispersion, eq. 90); per term j: log τ_j (k_j values);
///    per term with k_j ≥ 2: the k_j(k_j − 1)/2 `cholesky_corr` values of its correlation
///    matrix (`CorrelationCholeskyTransform`); under `.full` only: z (q values, term by term,
///    level-major, coefficients fastest: the design's order of b)].
///
/// Σ_j = diag(τ_j) R_j diag(τ_j) with R_j = W_j W_jᵀ; chol(Σ_j) = diag(τ_j) W_j.
public struct PosteriorLayout: Sendable, Equatable {
    public let form: PosteriorForm
    public let fixedNames: [String]
    public let groupNames: [String]
    public let coefficientNames: [[String]]
    public let levelCounts: [Int]

    /// β's entries (empty under `.marginal`).
    public let betaRange: Range<Int>
    /// log σ's entry; nil when the family has no dispersion σ (binomial, Poisson).
    public let logSigmaIndex: Int?
    /// Per term: its log τ entries.
    public let logTauRanges: [Range<Int>]
    /// Per term: its correlation entries (empty for scalar terms).
    public let correlationRanges: [Range<Int>]
    /// Per term: its z entries (empty unless `.full`).
    public let effectRanges: [Range<Int>]
    public let dimension: Int

    public init(design: Design, form: PosteriorForm) {
        self.init(form: form, fixedNames: design.fixed.columnNames, groupNames: design.terms.map(\.groupingName),
                  coefficientNames: design.terms.map(\.coefficientNames), levelCounts: design.terms.map(\.levelCount),
                  hasSigma: design.family.hasDispersion)
    }

    /// - Parameter hasSigma: whether the vector has a log σ entry (the family's dispersion).
    public init(form: PosteriorForm, fixedNames: [String], groupNames: [String], coefficientNames: [[String]], levelCounts: [Int],
                hasSigma: Bool = true) {
        precondition(groupNames.count == coefficientNames.count && groupNames.count == levelCounts.count)
        self.form = form
        self.fixedNames = fixedNames
        self.groupNames = groupNames
        self.coefficientNames = coefficientNames
        self.levelCounts = levelCounts
        var position = 0
        betaRange = form == .marginal ? 0..<0 : 0..<fixedNames.count
        position = betaRange.upperBound
        logSigmaIndex = hasSigma ? position : nil
        if hasSigma { position += 1 }
        var tau: [Range<Int>] = []
        for names in coefficientNames { tau.append(position ..< position + names.count); position += names.count }
        var correlation: [Range<Int>] = []
        for names in coefficientNames {
            let count = CorrelationCholeskyTransform.dimension(order: names.count)
            correlation.append(position ..< position + count)
            position += count
        }
        var effects: [Range<Int>] = []
        for (names, levels) in zip(coefficientNames, levelCounts) {
            let count = form == .full ? names.count * levels : 0
            effects.append(position ..< position + count)
            position += count
        }
        logTauRanges = tau
        correlationRanges = correlation
        effectRanges = effects
        dimension = position
    }

    public var termSizes: [Int] { coefficientNames.map(\.count) }

    /// The entries of log σ, each log τ and each correlation coordinate, in that order: the
    /// covariance coordinates (what a start jitters by one common half-width).
    public var scaleIndices: [Int] {
        (logSigmaIndex.map { [$0] } ?? []) + logTauRanges.flatMap { $0 } + correlationRanges.flatMap { $0 }
    }

    /// One name per unconstrained entry, brms-style where there is one: `b_Intercept`, `b_Days`,
    /// `log_sigma`, `log_sd_Subject__Intercept`, `atanh_cpc_Subject__Intercept__Days` (the
    /// canonical partial correlation of coefficients j < i, written j first as in brms's `cor_`),
    /// `z_Subject.3.2` (level 3, coefficient 2, 1-based as Stan's `r_` columns).
    public var names: [String] {
        func display(_ name: String) -> String { name == "(Intercept)" ? "Intercept" : name }
        var names = [String](repeating: "", count: dimension)
        for (i, name) in zip(betaRange, fixedNames) { names[i] = "b_" + display(name) }
        if let logSigmaIndex { names[logSigmaIndex] = "log_sigma" }
        for (j, group) in groupNames.enumerated() {
            let coefficients = coefficientNames[j].map(display)
            for (c, index) in logTauRanges[j].enumerated() { names[index] = "log_sd_\(group)__\(coefficients[c])" }
            var index = correlationRanges[j].lowerBound
            for i in 1..<max(coefficients.count, 1) {
                for c in 0..<i {
                    names[index] = "atanh_cpc_\(group)__\(coefficients[c])__\(coefficients[i])"
                    index += 1
                }
            }
            let k = coefficients.count
            for index in effectRanges[j] {
                let offset = index - effectRanges[j].lowerBound
                names[index] = "z_\(group).\(offset / k + 1).\(offset % k + 1)"
            }
        }
        return names
    }

    /// The constrained values at `x`.
    public func constrain<C: Collection<Double>>(_ x: C) -> PosteriorParameters where C.Index == Int {
        precondition(x.count == dimension)
        let s = x.startIndex
        let beta = betaRange.map { x[s + $0] }
        let sigma = logSigmaIndex.map { exp(x[s + $0]) }
        var tau: [[Double]] = []
        var factors: [[Double]] = []
        var effects: [[Double]] = []
        for j in groupNames.indices {
            tau.append(logTauRanges[j].map { exp(x[s + $0]) })
            let y = correlationRanges[j].map { x[s + $0] }
            factors.append(CorrelationCholeskyTransform(y, order: termSizes[j]).factor)
            effects.append(effectRanges[j].map { x[s + $0] })
        }
        return PosteriorParameters(beta: beta, sigma: sigma, tau: tau, correlationFactors: factors,
                                   standardizedEffects: form == .full ? effects : [])
    }

    /// The unconstrained vector of `parameters` (the inverse of `constrain`). Under `.marginal`
    /// β is not part of the vector; under `.full` `standardizedEffects` must be given; σ must be
    /// given exactly when the layout has log σ.
    public func unconstrain(_ parameters: PosteriorParameters) -> [Double] {
        var x = [Double](repeating: 0, count: dimension)
        if form != .marginal {
            precondition(parameters.beta.count == fixedNames.count)
            for (i, index) in betaRange.enumerated() { x[index] = parameters.beta[i] }
        }
        precondition((parameters.sigma != nil) == (logSigmaIndex != nil), "σ is given exactly when the family has one")
        if let logSigmaIndex, let sigma = parameters.sigma { x[logSigmaIndex] = log(sigma) }
        for j in groupNames.indices {
            for (c, index) in logTauRanges[j].enumerated() { x[index] = log(parameters.tau[j][c]) }
            let y = CorrelationCholeskyTransform.unconstrain(factor: parameters.correlationFactors[j], order: termSizes[j])
            for (c, index) in correlationRanges[j].enumerated() { x[index] = y[c] }
            if form == .full {
                precondition(parameters.standardizedEffects[j].count == effectRanges[j].count)
                for (c, index) in effectRanges[j].enumerated() { x[index] = parameters.standardizedEffects[j][c] }
            }
        }
        return x
    }
}

/// Constrained parameter values of a (generalized) linear mixed model's posterior.
public struct PosteriorParameters: Sendable, Equatable {
    /// β in X's column order (empty when β is integrated out).
    public var beta: [Double]
    /// σ, the residual SD; nil for families without one (binomial, Poisson).
    public var sigma: Double?
    /// Per term, per coefficient: τ, the SD of the random effect.
    public var tau: [[Double]]
    /// Per term: W_j, the lower Cholesky factor of the correlation matrix R_j (column-major
    /// k_j x k_j; [1] for a scalar term).
    public var correlationFactors: [[Double]]
    /// Per term, level-major: z with b_{j,h} = diag(τ_j) W_j z_{j,h} (full form only, else empty).
    public var standardizedEffects: [[Double]]

    public init(beta: [Double], sigma: Double?, tau: [[Double]], correlationFactors: [[Double]], standardizedEffects: [[Double]] = []) {
        self.beta = beta
        self.sigma = sigma
        self.tau = tau
        self.correlationFactors = correlationFactors
        self.standardizedEffects = standardizedEffects
    }

    /// Builds the values from covariance matrices Σ_j (column-major k_j x k_j); nil when one is
    /// not positive definite.
    public init?(beta: [Double], sigma: Double?, covariances: [[Double]], standardizedEffects: [[Double]] = []) {
        var tau: [[Double]] = []
        var factors: [[Double]] = []
        for sigmaJ in covariances {
            let k = sigmaJ.count.squareRootOfPerfectSquare
            guard let l = SmallDense.lowerCholesky(sigmaJ, order: k) else { return nil }
            var sds: [Double] = []
            var w = l
            for r in 0..<k {
                var s = 0.0
                for c in 0...r { s += l[r + c * k] * l[r + c * k] }
                let sd = s.squareRoot()
                sds.append(sd)
                for c in 0...r { w[r + c * k] /= sd }
            }
            tau.append(sds)
            factors.append(w)
        }
        self.init(beta: beta, sigma: sigma, tau: tau, correlationFactors: factors, standardizedEffects: standardizedEffects)
    }

    public var termCount: Int { tau.count }

    /// chol(Σ_j) = diag(τ_j) W_j (column-major lower).
    public func covarianceFactor(term j: Int) -> [Double] {
        let k = tau[j].count
        var l = correlationFactors[j]
        for r in 0..<k { for c in 0...r { l[r + c * k] *= tau[j][r] } }
        return l
    }

    /// R_j = W_j W_jᵀ.
    public func correlation(term j: Int) -> [Double] {
        SmallDense.outerOfLower(correlationFactors[j], order: tau[j].count)
    }

    /// Σ_j = diag(τ_j) R_j diag(τ_j).
    public func covariance(term j: Int) -> [Double] {
        SmallDense.outerOfLower(covarianceFactor(term: j), order: tau[j].count)
    }

    /// b_{j,h} = chol(Σ_j) z_{j,h} per term, level-major (full form).
    public func randomEffects() -> [[Double]] {
        (0..<termCount).map { j in
            let k = tau[j].count
            let l = covarianceFactor(term: j)
            let z = standardizedEffects[j]
            var b = [Double](repeating: 0, count: z.count)
            for h in 0..<(z.count / k) {
                for r in 0..<k {
                    var s = 0.0
                    for c in 0...r { s += l[r + c * k] * z[h * k + c] }
                    b[h * k + r] = s
                }
            }
            return b
        }
    }
}
