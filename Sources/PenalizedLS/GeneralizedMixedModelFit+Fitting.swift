import Foundation
import CNumerics
import Linalg
import ModelSpec

extension GeneralizedMixedModelFit {
    /// Fits a binomial or Poisson mixed model as lme4's `glmer` does (docs/math.md, eq. 74-80):
    /// a first stage over θ with β inside PIRLS (nAGQ = 0), then, for Laplace and AGQ, (θ, β)
    /// jointly with u's conditional modes found by PIRLS at each evaluation; or PQL.
    /// Where the reported standard errors of β̂ come from.
    public enum StandardErrors: String, Sendable, CaseIterable {
        /// lme4's `summary` default: 2H⁻¹ of the deviance over (θ, β) (eq. 80).
        case hessian
        /// PIRLS's R_X at the optimum, conditional on θ (lme4's `vcov(use.hessian = FALSE)`);
        /// skips the Hessian's 1 + 2d + 2d(d − 1) deviance evaluations (d = θ and β's count).
        case rx
    }

    public static func fit(_ design: Design, method: Method = .laplace, standardErrors: StandardErrors = .hessian) throws -> GeneralizedMixedModelFit {
        precondition(!design.family.isGaussian, "Gaussian models are fitted by MixedModelFit")
        let clock = ContinuousClock.now
        if case .adaptiveQuadrature(let nodes) = method {
            guard (1...25).contains(nodes) else { throw GeneralizedFitError.quadratureNodes(nodes) }
            if nodes > 1, design.terms.count != 1 || design.terms[0].size != 1 {
                throw GeneralizedFitError.quadratureNeedsOneScalarTerm(terms: design.terms.map { "(\($0.coefficientNames.joined(separator: " + ")) | \($0.groupingName))" })
            }
        }
        if let excess = BlockedFactorBudget.standard.excess(design.crossProducts.layout) {
            throw GeneralizedFitError.blockedFactorOverBudget(excess: excess)
        }
        if method == .penalizedQuasiLikelihood {
            return try PenalizedQuasiLikelihood.fit(design, started: clock)
        }
        let quadrature = method.quadratureNodes.flatMap { $0 > 1 ? GaussHermiteRule(nodes: $0) : nil }
        let thetaCount = design.thetaCount
        let lower = design.thetaLowerBounds + Array(repeating: -Double.infinity, count: design.fixedCount)
        // Newton steps on the Laplace deviance's gradient finish stage 2 where they can (eq. 78a);
        // when they cannot, BOBYQA does it below, on a fresh PIRLS, as if they had not been tried.
        var failedNewtonEvaluations = 0
        if method != .fastLaplace, standardErrors == .hessian, quadrature == nil, LaplaceGradient.applies(to: design) {
            let pirls = PIRLS(design: design)
            var stageOne = firstStage(pirls, relativeTolerance: newtonStageOneTolerance)
            let gradient = LaplaceGradient(design: design, layout: pirls.randomProducts.layout, termStarts: pirls.randomProducts.termStarts)
            var newtonEvaluations = 0
            if let newton = newtonStage(pirls, gradient: gradient, start: stageOne.minimizer + pirls.beta, lowerBounds: lower,
                                        evaluations: &newtonEvaluations) {
                stageOne.evaluations += newtonEvaluations
                stageOne.status = newtonStatus
                return try result(pirls: pirls, design: design, method: method, quadrature: nil, theta: Array(newton.x[..<thetaCount]),
                                  beta: Array(newton.x[thetaCount...]), derivatives: (newton.gradient, newton.hessian), lowerBounds: lower,
                                  optimizer: stageOne, started: clock)
            }
            failedNewtonEvaluations = stageOne.evaluations + newtonEvaluations
        }
        let pirls = PIRLS(design: design)
        let stageOne = firstStage(pirls)
        if method == .fastLaplace {
            return try result(pirls: pirls, design: design, method: method, quadrature: nil, theta: stageOne.minimizer,
                              beta: pirls.beta, derivatives: nil, lowerBounds: design.thetaLowerBounds, optimizer: stageOne, started: clock)
        }

        let objective = { (x: [Double]) -> Double in deviance(pirls, at: x, quadrature: quadrature) }
        let start = stageOne.minimizer + pirls.beta
        let rx = (try? pirls.jointFactorAtCurrentWeights()).flatMap { fixedEffectsCovarianceRX($0.factor, $0.products) }
        var options = BoundedOptimizer.Options()
        // The deviance is flat along some directions of β (VerbAgg: 1e-12 relative left the
        // intercept 6e-4 from the optimum); stop on the step size instead, or, when the Hessian
        // is taken anyway (lme4's SEs), stop at 1e-11 and finish with a Newton step on it.
        let polishing = standardErrors == .hessian
        options.relativeObjectiveTolerance = polishing ? Self.polishedObjectiveTolerance : 1e-15
        let thetaSteps: [Double] = stageOne.minimizer.map { max(0.25 * abs($0), 0.025) }
        let betaSteps: [Double] = (0..<design.fixedCount).map { c -> Double in
            let variance: Double = rx?[c][c] ?? 1
            return max(variance.squareRoot() / 4, 1e-3)
        }
        options.initialStep = thetaSteps + betaSteps
        var optimum = BoundedOptimizer(options: options).minimize(objective, start: start, lowerBounds: lower)
        optimum.evaluations += stageOne.evaluations + failedNewtonEvaluations
        var x = optimum.minimizer

        // lme4's summary SEs: Var(β̂) from 2 H⁻¹ of the deviance over (θ, β) (finite differences).
        var value = objective(x)
        var mode = pirls.u
        var derivatives: (gradient: [Double], hessian: [Double])?
        if polishing {
            // lme4's glmer takes deriv12 without bounds: θ = 0 is the middle of an even function.
            let unbounded = Array(repeating: -Double.infinity, count: x.count)
            let evaluateAll = { (points: [[Double]], mode: [Double]) in
                deviances(at: points, from: mode, design: design, quadrature: quadrature, first: pirls)
            }
            let hessian = { (x: [Double], value: Double, mode: [Double]) in
                ConvergenceCheck.derivatives(evaluatingAll: { evaluateAll($0, mode) }, at: x, value: value, lowerBounds: unbounded)
            }
            var taken = hessian(x, value, mode)
            var polished = false
            if let step = newtonStep(taken, at: x, lowerBounds: lower) {
                let candidate = zip(x, step).map { $0 + $1 }
                pirls.setU(mode)
                let candidateValue = objective(candidate)
                if candidateValue <= value {
                    polished = true
                    x = candidate
                    value = candidateValue
                    mode = pirls.u
                    // The Hessian stays the one taken a step of at most 1e-2 standard errors
                    // away; the gradient that lme4's convergence check reads is taken anew.
                    taken.gradient = ConvergenceCheck.gradient(evaluatingAll: { evaluateAll($0, mode) }, at: x, lowerBounds: unbounded)
                }
            }
            if !polished {
                // No safe Newton step (a bound, an indefinite Hessian, a point too far): stage 2
                // goes on from here to the step-size rule, and the Hessian is taken there.
                options.relativeObjectiveTolerance = 1e-15
                pirls.setU(mode)
                let resumed = BoundedOptimizer(options: options).minimize(objective, start: x, lowerBounds: lower)
                optimum.evaluations += resumed.evaluations
                optimum.status = resumed.status
                x = resumed.minimizer
                value = objective(x)
                mode = pirls.u
                taken = hessian(x, value, mode)
            }
            derivatives = taken
            // The derivatives' evaluations left PIRLS elsewhere: back to the optimum's state.
            pirls.setU(mode)
            _ = objective(x)
        }
        return try result(pirls: pirls, design: design, method: method, quadrature: quadrature, theta: Array(x[..<thetaCount]),
                          beta: Array(x[thetaCount...]), derivatives: derivatives, lowerBounds: lower, optimizer: optimum, started: clock)
    }

    /// Stage 1's stopping rule when Newton steps do stage 2 (eq. 78a): they converge from farther
    /// than BOBYQA's 1e-10 leaves. In callgrind's instruction counts of the whole fit, 1e-10 / 1e-7
    /// / 1e-6 / 1e-5 / 1e-4 gave VerbAgg 1.94 / 1.73 / 1.58 / 1.58 / 1.76 G and grouseticks
    /// 1.48 / 1.42 / 1.36 / 1.28 / 1.38 G: past 1e-5 the first Hessian is taken too far away and
    /// taken again.
    static let newtonStageOneTolerance = 1e-6

    /// Stage 2's stopping rule when a Newton step finishes it: from there the step's predicted
    /// decrease of the deviance is below `largestPolishedDecrease` on every fit tried.
    static let polishedObjectiveTolerance = 1e-11
    /// A Newton step predicted to lower the deviance by more than this means stage 2 stopped far
    /// from the optimum (a step of more than about 1e-2 standard errors): it is not taken.
    static let largestPolishedDecrease = 1e-4

    /// The Newton step −H⁻¹g from finite-difference derivatives, or nil when H is not positive
    /// definite, the step would cross a lower bound or lies farther than a polish should.
    static func newtonStep(_ derivatives: (gradient: [Double], hessian: [Double]), at x: [Double], lowerBounds: [Double]) -> [Double]? {
        let n = x.count
        guard let lower = SmallDense.lowerCholesky(derivatives.hessian, order: n) else { return nil }
        var step = derivatives.gradient.map { -$0 }
        lower.withUnsafeBufferPointer { l in
            step.withUnsafeMutableBufferPointer { SmallDense.solveLower(l.baseAddress!, order: n, $0.baseAddress!) }
        }
        // ½ gᵀH⁻¹g = ½‖L⁻¹g‖²: the decrease a quadratic model predicts.
        let predictedDecrease = step.reduce(0) { $0 + $1 * $1 } / 2
        guard predictedDecrease <= largestPolishedDecrease else { return nil }
        lower.withUnsafeBufferPointer { l in
            step.withUnsafeMutableBufferPointer { SmallDense.solveLowerTransposed(l.baseAddress!, order: n, $0.baseAddress!) }
        }
        guard zip(x, step).enumerated().allSatisfy({ $0.element.0 + $0.element.1 >= lowerBounds[$0.offset] }) else { return nil }
        return step
    }

    /// The Laplace (or quadrature) deviance at x = (θ, β), PIRLS started from its current u.
    static func deviance(_ pirls: PIRLS, at x: [Double], quadrature: GaussHermiteRule?) -> Double {
        let thetaCount = pirls.design.thetaCount
        pirls.setTheta(Array(x[..<thetaCount]))
        pirls.setBeta(Array(x[thetaCount...]))
        guard pirls.run(.betaFixed) else { return .infinity }
        return quadrature.map { pirls.adaptiveQuadratureDeviance(rule: $0) } ?? pirls.laplaceDeviance
    }

    /// The Laplace (or quadrature) deviance at each point, PIRLS started from `mode` for every
    /// one, so that a value does not depend on which points came before it: the points are shared
    /// among threads (one PIRLS each, `first` one of them) and the values are the same bits on any
    /// number of them.
    static func deviances(at points: [[Double]], from mode: [Double], design: Design, quadrature: GaussHermiteRule?,
                                 first: PIRLS) -> [Double] {
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8, points.count))
        let workers = [first] + (1..<threads).map { _ in PIRLS(design: design) }
        var values = [Double](repeating: 0, count: points.count)
        values.withUnsafeMutableBufferPointer { output in
            // Each thread reads its own PIRLS and writes only its own indices.
            nonisolated(unsafe) let output = output, workers = workers
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                let pirls = workers[thread]
                for index in stride(from: thread, to: points.count, by: threads) {
                    pirls.setU(mode)
                    output[index] = deviance(pirls, at: points[index], quadrature: quadrature)
                }
            }
        }
        return values
    }

    /// lme4's nAGQ = 0 stage: θ optimized with β and u both found by PIRLS; leaves PIRLS at the
    /// optimum. BOBYQA stops at a relative change of `relativeTolerance`: 1e-10 where it is the fit
    /// (nAGQ = 0) or BOBYQA's start for stage 2, `newtonStageOneTolerance` where Newton steps
    /// follow.
    static func firstStage(_ pirls: PIRLS, relativeTolerance: Double = 1e-10) -> BoundedOptimizer.Result {
        let design = pirls.design
        let start = design.thetaStart
        pirls.setTheta(start)
        pirls.run(.betaJointly, startFromEta: true)
        let objective = { (theta: [Double]) -> Double in
            pirls.setTheta(theta)
            guard pirls.run(.betaJointly) else { return .infinity }
            return pirls.laplaceDeviance
        }
        var options = BoundedOptimizer.Options()
        options.relativeObjectiveTolerance = relativeTolerance
        options.initialStep = start.map { max(0.25 * abs($0), 0.025) }
        let result = BoundedOptimizer(options: options).minimize(objective, start: start, lowerBounds: design.thetaLowerBounds)
        _ = objective(result.minimizer)
        return result
    }

    /// (R_X R_Xᵀ)⁻¹ from the X block of a PIRLS system's factor (σ = 1), row-major.
    static func fixedEffectsCovarianceRX(_ factor: BlockedCholesky, _ products: CrossProducts) -> [[Double]]? {
        let p = products.fixedCount
        let start = products.fixedStart
        guard p > 0 else { return [] }
        var lx = [Double](repeating: 0, count: p * p)
        for c in 0..<p { for r in c..<p { lx[r + c * p] = factor.dense[start + r, start + c] } }
        let info = lx.withUnsafeMutableBufferPointer {
            LAPACKE_dpotri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(p), $0.baseAddress!, Int32(p))
        }
        guard info == 0 else { return nil }
        return (0..<p).map { r in (0..<p).map { c in lx[max(r, c) + min(r, c) * p] } }
    }

    /// The β block of 2 H⁻¹ (H column-major over (θ, β)), or nil when H is not positive definite.
    static func fixedEffectsCovarianceFromHessian(_ hessian: [Double], thetaCount: Int) -> [[Double]]? {
        var h = hessian
        let n = Int(Double(hessian.count).squareRoot().rounded())
        let info = h.withUnsafeMutableBufferPointer { buffer -> Int32 in
            let first = LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), buffer.baseAddress!, Int32(n))
            guard first == 0 else { return first }
            return LAPACKE_dpotri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), buffer.baseAddress!, Int32(n))
        }
        guard info == 0 else { return nil }
        let p = n - thetaCount
        return (0..<p).map { r in (0..<p).map { c in
            let a = thetaCount + r, b = thetaCount + c
            return 2 * h[max(a, b) + min(a, b) * n]
        } }
    }

    /// Everything reported, from PIRLS left at the optimum.
    static func result(pirls: PIRLS, design: Design, method: Method, quadrature: GaussHermiteRule?, theta: [Double], beta: [Double],
                       derivatives: (gradient: [Double], hessian: [Double])?, lowerBounds: [Double],
                       optimizer: BoundedOptimizer.Result, started: ContinuousClock.Instant) throws -> GeneralizedMixedModelFit {
        let deviance = quadrature.map { pirls.adaptiveQuadratureDeviance(rule: $0) } ?? pirls.laplaceDeviance
        let factors = design.relativeCovarianceFactors(theta: theta)
        let effects = PenalizedSolution.randomEffects(design: design, products: pirls.randomProducts, factor: pirls.randomFactor,
                                                      solution: pirls.u, factors: factors, scale: 1)
        let joint = try pirls.jointFactorAtCurrentWeights()
        guard let covarianceRX = fixedEffectsCovarianceRX(joint.factor, joint.products) else {
            throw FitError.rankDeficientFixedEffects(names: design.fixed.columnNames)
        }
        let covariance = derivatives.flatMap { fixedEffectsCovarianceFromHessian($0.hessian, thetaCount: theta.count) } ?? covarianceRX
        let p = design.fixedCount
        let fixedEffects = (0..<p).map { c in
            MixedModelFit.FixedEffect(name: design.fixed.columnNames[c], estimate: beta[c], standardError: covariance[c][c].squareRoot())
        }
        let elapsed = ContinuousClock.now - started
        return GeneralizedMixedModelFit(
            family: design.family, method: method, deviance: deviance, saturatedDeviance: pirls.saturatedDeviance,
            theta: theta, thetaNames: design.thetaNames, fixedEffects: fixedEffects,
            fixedEffectsStandardErrorsRX: (0..<p).map { covarianceRX[$0][$0].squareRoot() },
            fixedEffectsCovariance: covariance,
            varianceComponents: PenalizedSolution.varianceComponents(terms: design.terms, factors: factors, sigma: 1),
            randomEffects: effects, dispersion: nil, pearsonResiduals: pirls.pearsonResiduals(),
            observationCount: design.observationCount, rowsDropped: design.rowsDropped,
            optimizerEvaluations: optimizer.evaluations, optimizerStatus: optimizer.status, iterations: pirls.iterations,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
            lowerBounds: design.thetaLowerBounds,
            convergence: ConvergenceCheck(derivatives: derivatives, parameters: theta + beta, lowerBounds: lowerBounds))
    }
}

extension PIRLS {
    /// (y_i − μ_i) √a_i / √V(μ_i): lme4's scaled (Pearson) residuals with σ = 1.
    func pearsonResiduals() -> [Double] {
        y.indices.map { i in (y[i] - mu[i]) * priorWeights[i].squareRoot() / family.variance(mu[i]).squareRoot() }
    }
}
