import Foundation
import Linalg
import ModelSpec

/// Penalized iteratively reweighted least squares for a generalized linear mixed model
/// (docs/math.md, eq. 74-77): at fixed θ, finds the conditional modes ũ of the spherical random
/// effects u (b = Λu) that minimize Σ d_i(y_i, μ_i) + ‖u‖², either with β fixed (lme4's inner
/// loop for nAGQ ≥ 1) or with β solved for beside u (lme4's nAGQ = 0, MixedModels.jl's `fast`).
///
/// Each iteration weights the rows by the IRLS weights w_i = a_i (dμ/dη)²/V(μ) at the current
/// η, refills `[Z (X) z]ᵀ W [Z (X) z]` in one pass over the rows, loads Λ into the same blocked
/// Cholesky factor the Gaussian fit uses, and solves; a step that raises the penalized deviance
/// is halved.
///
/// Owns one products value and one factor per mode; not thread-safe (depends: θ, β, u of the
/// last call).
final class PIRLS {
    enum Mode { case betaFixed, betaJointly }

    let design: Design
    let family: Family
    /// Prior weights a_i (a binomial row's trials), 1 without any.
    let priorWeights: [Double]
    let y: [Double]
    /// Per-row parts of the linear predictor that PIRLS does not change: offset (+ Xβ when β is fixed).
    private var fixedPart: [Double]
    private(set) var randomProducts: CrossProducts
    private(set) var randomFactor: BlockedCholesky
    private var jointProducts: CrossProducts?
    private(set) var jointFactor: BlockedCholesky?
    /// Spherical random effects in the factor's order: the first term's groups, then the dense
    /// random rows (other terms).
    private(set) var u: [Double]
    private(set) var beta: [Double]
    private(set) var eta: [Double]
    private(set) var mu: [Double]
    /// dμ/dη at η.
    private(set) var meanDerivative: [Double]
    /// Σ_i d(y_i, μ_i) at the current μ (depends: η), summed where μ is computed.
    private var devianceResidualTotal = Double.nan
    /// −2 Σ log p(y_i | μ_i = y_i): (71) = (72) + this per row, so the likelihood needs no
    /// log-gamma per evaluation (eq. 72).
    let saturatedDeviance: Double
    private let rowDeviance: RowDeviance
    private(set) var iterations = 0
    /// Relative-covariance factors T_j at the current θ.
    private(set) var factors: [[Double]] = []
    private let emptyFixed: Matrix

    /// Stop when no coordinate of (u, β) moves by more than this in an iteration, then take one
    /// more full step (see `run`): 1e-6 for the canonical links, whose IRLS is Newton's method
    /// (quadratic convergence leaves the mode within ~1e-12), 1e-10 for probit and cloglog
    /// (Fisher scoring, linear convergence). lme4 stops at a relative change of 1e-7 in its
    /// penalized weighted RSS, which leaves its Laplace deviance up to 1e-3 above the converged
    /// value (data/glmm/README.md); we converge.
    static let stepTolerance = 1e-10
    static let newtonStepTolerance = 1e-6
    /// An increase of the penalized deviance this small (relative) is rounding, not divergence.
    static let roundingSlack = 1e-13
    static let maximumIterations = 200
    static let maximumHalvings = 30

    init(design: Design) {
        self.design = design
        family = design.family
        let n = design.observationCount
        priorWeights = design.priorWeights ?? Array(repeating: 1, count: n)
        y = design.response
        emptyFixed = Matrix(rows: n, columns: 0)
        randomProducts = CrossProducts(terms: design.terms, fixed: emptyFixed, response: Array(repeating: 0, count: n))
        randomProducts.cacheRowSlots(terms: design.terms, fixed: emptyFixed)
        randomFactor = BlockedCholesky(layout: randomProducts.layout)
        fixedPart = design.offset
        u = Array(repeating: 0, count: randomProducts.layout.firstDimension + randomProducts.fixedStart)
        beta = Array(repeating: 0, count: design.fixedCount)
        // R's starting means (`family$initialize`): away from the boundary of the family's range.
        var startEta = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let start: Double
            switch family.kind {
            case .binomial: start = (priorWeights[i] * y[i] + 0.5) / (priorWeights[i] + 1)
            case .poisson: start = y[i] + 0.1
            case .gaussian: start = y[i]
            }
            startEta[i] = family.linkFunction(start)
        }
        eta = startEta
        let chosen = design.family
        mu = startEta.map { chosen.mean($0) }
        meanDerivative = startEta.map { chosen.meanDerivative($0) }
        var saturated = 0.0
        for i in 0..<n { saturated += chosen.minusTwoLogLikelihood(y: y[i], mu: y[i], weight: priorWeights[i]) }
        saturatedDeviance = saturated
        rowDeviance = RowDeviance(family: chosen, y: y, priorWeights: priorWeights)
    }

    // MARK: - State

    /// Sets θ (Λ's factors) without touching u or β.
    func setTheta(_ theta: [Double]) {
        factors = design.relativeCovarianceFactors(theta: theta)
    }

    /// Fixes β (the betaFixed mode's fixed part becomes offset + Xβ).
    func setBeta(_ newBeta: [Double]) {
        beta = newBeta
        fixedPart = Self.offsetPlusXBeta(design: design, beta: newBeta)
    }

    func setU(_ newU: [Double]) { u = newU }

    /// η = offset + Xβ + ZΛu and μ for the current state.
    ///
    /// Hot loops here work on local arrays and write the class's properties once: element access
    /// to a class's array property is checked for exclusivity on every call.
    func updateLinearPredictor() {
        let eta = fixedPlusRandomPart(u)
        var mu = [Double](repeating: 0, count: eta.count)
        var derivative = [Double](repeating: 0, count: eta.count)
        devianceResidualTotal = rowDeviance.evaluate(eta: eta, mu: &mu, derivative: &derivative)
        self.eta = eta
        self.mu = mu
        self.meanDerivative = derivative
    }

    /// η_i = (fixed part)_i + (ZΛu)_i for every row.
    func fixedPlusRandomPart(_ u: [Double]) -> [Double] {
        let n = design.observationCount
        var result = fixedPart
        let q1 = randomProducts.layout.firstDimension
        let termStarts = randomProducts.termStarts
        let factors = self.factors
        for (j, term) in design.terms.enumerated() {
            let k = term.size
            let t = factors[j]
            let start = j == 0 ? 0 : q1 + termStarts[j]
            // b = T u per level, then (Z_j b)_i = Σ_c z_ic b_{g(i),c}.
            var b = [Double](repeating: 0, count: term.levelCount * k)
            for h in 0..<term.levelCount {
                for r in 0..<k {
                    var s = 0.0
                    for c in 0...r { s += t[r + c * k] * u[start + h * k + c] }
                    b[h * k + r] = s
                }
            }
            let codes = term.groupCodes, rows = term.modelRows.storage
            // Through buffers: element writes to the array would each check its uniqueness.
            result.withUnsafeMutableBufferPointer { result in
                if k == 1 {
                    for i in 0..<n { result[i] += rows[i] * b[Int(codes[i])] }
                    return
                }
                for i in 0..<n {
                    let base = Int(codes[i]) * k
                    var s = 0.0
                    for c in 0..<k { s += rows[i + c * n] * b[base + c] }
                    result[i] += s
                }
            }
        }
        return result
    }

    static func offsetPlusXBeta(design: Design, beta: [Double]) -> [Double] {
        var result = design.offset
        let n = result.count, x = design.fixed.matrix.storage
        result.withUnsafeMutableBufferPointer { result in
            for c in 0..<beta.count where beta[c] != 0 {
                let value = beta[c]
                for i in 0..<n { result[i] += x[i + c * n] * value }
            }
        }
        return result
    }

    // MARK: - Objective pieces

    /// Σ_i −2 log p(y_i | μ_i) with the family's constants (eq. 71-72).
    func minusTwoLogLikelihood() -> Double {
        devianceResidualSum() + saturatedDeviance
    }

    /// Σ_i d(y_i, μ_i): the deviance residuals' sum (eq. 72) at the current μ.
    func devianceResidualSum() -> Double { devianceResidualTotal }

    var squaredLengthOfU: Double { u.reduce(0) { $0 + $1 * $1 } }

    /// log |L_θ|² of the random-effects part of the last factorization (eq. 76).
    var logDeterminant: Double {
        2 * (randomFactor.firstLogDiagonalSum() + randomFactor.denseLogDiagonalSum(0 ..< randomProducts.fixedStart))
    }

    /// The Laplace approximation to −2 log L at the current (θ, β, u) (eq. 77).
    var laplaceDeviance: Double { minusTwoLogLikelihood() + squaredLengthOfU + logDeterminant }

    // MARK: - Iteration

    /// Runs PIRLS to convergence from the current state; false if a factorization failed (θ
    /// outside the positive-definite region).
    @discardableResult
    func run(_ mode: Mode, startFromEta: Bool = false) -> Bool {
        if !startFromEta { updateLinearPredictor() }
        var penalized = startFromEta ? Double.infinity : devianceResidualSum() + squaredLengthOfU
        iterations = 0
        for _ in 0..<Self.maximumIterations {
            iterations += 1
            guard let proposal = solve(mode) else { return false }
            let oldU = u, oldBeta = beta
            var step = 1.0
            var accepted = false
            var newPenalized = penalized
            for _ in 0...Self.maximumHalvings {
                apply(oldU: oldU, oldBeta: oldBeta, proposal: proposal, step: step, mode: mode)
                newPenalized = devianceResidualSum() + squaredLengthOfU
                // Near the mode a full Newton step changes the penalized deviance by less than its
                // rounding; refusing it there would leave u a step short of the mode.
                if newPenalized <= penalized + Self.roundingSlack * abs(penalized) || !penalized.isFinite { accepted = true; break }
                step /= 2
            }
            if !accepted {
                // No step lowers the objective: the mode is reached up to rounding.
                apply(oldU: oldU, oldBeta: oldBeta, proposal: proposal, step: 0, mode: mode)
                break
            }
            var largestStep = 0.0
            for i in u.indices { largestStep = max(largestStep, abs(u[i] - oldU[i])) }
            if mode == .betaJointly { for i in beta.indices { largestStep = max(largestStep, abs(beta[i] - oldBeta[i])) } }
            penalized = newPenalized
            if largestStep <= tolerance { break }
        }
        // One more factorization, at the weights of the last iterate, for the Laplace determinant:
        // log|L|² is not stationary in u, so the factor of the previous iterate's weights would
        // leave the deviance off by the order of that iterate's step (and finite-difference
        // Hessians, the SEs, off by far more). After a step within `tolerance` the last iterate
        // is within its square of the mode (Newton) or a small multiple of it (Fisher scoring),
        // so this factor's weights are the mode's to about 1e-12. Its step is not taken: the
        // penalized deviance is stationary at the mode, so a step that small changes it by its
        // square, and taking it would cost another pass of exp and log over the rows.
        return solve(mode) != nil
    }

    /// Newton's method (canonical links: IRLS weights are the observed information) converges
    /// quadratically, so 1e-6 leaves the mode within ~1e-12 after the final step; Fisher scoring
    /// (probit, cloglog) converges linearly and runs to 1e-10.
    private var tolerance: Double {
        family.link == .logit || family.link == .log ? Self.newtonStepTolerance : Self.stepTolerance
    }

    /// The weighted least-squares solution at the current η: u (and β) of the next iterate, or
    /// nil if the factorization failed. Leaves the factor of that system behind.
    private func solve(_ mode: Mode) -> [Double]? {
        let n = design.observationCount
        var weights = [Double](repeating: 0, count: n)
        var working = [Double](repeating: 0, count: n)
        let meanDerivative = self.meanDerivative, mu = self.mu, eta = self.eta, y = self.y, prior = priorWeights, family = self.family
        let fixedPart = mode == .betaFixed ? self.fixedPart : design.offset
        weights.withUnsafeMutableBufferPointer { weights in
            working.withUnsafeMutableBufferPointer { working in
                for i in 0..<n {
                    let derivative = meanDerivative[i]
                    weights[i] = prior[i] * derivative * derivative / family.variance(mu[i])
                    // z_i = η_i − (fixed part) + (y_i − μ_i) / (dμ/dη): the working response (eq. 74-75).
                    working[i] = eta[i] - fixedPart[i] + (y[i] - mu[i]) / derivative
                }
            }
        }
        switch mode {
        case .betaFixed:
            randomProducts.fill(terms: design.terms, fixed: emptyFixed, response: working, weights: weights)
            randomProducts.loadScaled(into: &randomFactor, factors: factors)
            guard Self.factorize(&randomFactor) else { return nil }
            var solution = randomFactor.lastRow(denseCount: randomProducts.fixedStart)
            randomFactor.solveTransposed(&solution, denseCount: randomProducts.fixedStart)
            return solution
        case .betaJointly:
            if jointProducts == nil {
                jointProducts = CrossProducts(terms: design.terms, fixed: design.fixed.matrix, response: working, weights: weights)
                jointProducts!.cacheRowSlots(terms: design.terms, fixed: design.fixed.matrix)
                jointFactor = BlockedCholesky(layout: jointProducts!.layout)
            } else {
                jointProducts!.fill(terms: design.terms, fixed: design.fixed.matrix, response: working, weights: weights)
            }
            jointProducts!.loadScaled(into: &jointFactor!, factors: factors)
            guard Self.factorize(&jointFactor!) else { return nil }
            let last = jointProducts!.responseIndex
            var solution = jointFactor!.lastRow(denseCount: last)
            jointFactor!.solveTransposed(&solution, denseCount: last)
            // The random part of the joint factor is the random factor's (Cholesky is leading-block
            // local): copy it so that the log-determinant reads one place.
            copyRandomPart(of: jointFactor!, layout: jointProducts!)
            return solution
        }
    }

    /// The random-effects rows of the joint factor into `randomFactor` (same first part and dense
    /// random rows; the X rows and the working response are not needed there).
    private func copyRandomPart(of joint: BlockedCholesky, layout products: CrossProducts) {
        randomFactor.diagonal = joint.diagonal
        let qr = products.fixedStart
        for c in 0..<qr { for r in c..<qr { randomFactor.dense[r, c] = joint.dense[r, c] } }
    }

    private func apply(oldU: [Double], oldBeta: [Double], proposal: [Double], step: Double, mode: Mode) {
        let q = u.count
        for i in 0..<q { u[i] = oldU[i] + step * (proposal[i] - oldU[i]) }
        if mode == .betaJointly {
            for c in beta.indices { beta[c] = oldBeta[c] + step * (proposal[q + c] - oldBeta[c]) }
            fixedPart = Self.offsetPlusXBeta(design: design, beta: beta)
        }
        updateLinearPredictor()
    }

    /// The factor of `[ΛᵀZᵀWZΛ + I, ΛᵀZᵀWX; XᵀWZΛ, XᵀWX]` at the current weights: R_X's block
    /// gives the PIRLS (RX-based) covariance of β̂ (eq. 78).
    func jointFactorAtCurrentWeights() throws -> (factor: BlockedCholesky, products: CrossProducts) {
        let n = design.observationCount
        var weights = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let derivative = meanDerivative[i]
            weights[i] = priorWeights[i] * derivative * derivative / family.variance(mu[i])
        }
        let products = CrossProducts(terms: design.terms, fixed: design.fixed.matrix, response: Array(repeating: 0, count: n), weights: weights)
        var factor = BlockedCholesky(layout: products.layout)
        products.loadScaled(into: &factor, factors: factors)
        guard Self.factorize(&factor) else { throw CholeskyError.denseNotPositiveDefinite(column: products.fixedStart) }
        return (factor, products)
    }

    /// Factorizes; a working response fitted exactly (or the zero placeholder) leaves only y's
    /// own diagonal entry at 0, after every entry the solve reads is computed, so that failure
    /// is not one.
    static func factorize(_ factor: inout BlockedCholesky) -> Bool {
        do {
            try factor.factorize()
            return true
        } catch .denseNotPositiveDefinite(let column) where column == factor.layout.denseDimension - 1 {
            return true
        } catch {
            return false
        }
    }
}
