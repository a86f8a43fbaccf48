import Foundation
import CNumerics
import Linalg
import ModelSpec

/// A REML or ML fit: the numbers `summary(lmer(...))` prints.
public struct MixedModelFit: Sendable {
    public struct FixedEffect: Sendable {
        public let name: String
        public let estimate: Double
        public let standardError: Double
        public var tValue: Double { estimate / standardError }
    }

    /// One random-effects term's estimated covariance, σ² T Tᵀ.
    public struct VarianceComponent: Sendable {
        public let group: String
        public let names: [String]
        public let standardDeviations: [Double]
        /// Row-major k x k correlation matrix.
        public let correlations: [[Double]]
    }

    /// Conditional modes of one term's random effects and their conditional SDs (lme4's
    /// `ranef(condVar = TRUE)`), per level and coefficient.
    public struct RandomEffects: Sendable {
        public let group: String
        public let coefficientNames: [String]
        public let levels: [String]
        public let modes: [[Double]]
        public let conditionalStandardDeviations: [[Double]]
    }

    public let method: EstimationMethod
    /// REML criterion or ML deviance at the optimum.
    public let objective: Double
    public let theta: [Double]
    public let thetaNames: [String]
    public let sigma: Double
    public let fixedEffects: [FixedEffect]
    public let varianceComponents: [VarianceComponent]
    public let randomEffects: [RandomEffects]
    /// Var(β̂), row-major.
    public let fixedEffectsCovariance: [[Double]]
    public let scaledResiduals: [Double]
    public let observationCount: Int
    public let rowsDropped: Int
    public let optimizerEvaluations: Int
    /// NLopt's return code (positive: BOBYQA stopped by one of its criteria).
    public let optimizerStatus: Int32
    /// lme4's derivative check at the optimum (`ConvergenceCheck`).
    public let convergence: ConvergenceCheck
    /// BOBYQA stopped by a convergence criterion and the gradient and Hessian at the optimum agree.
    public var converged: Bool { optimizerStatus > 0 && convergence.passed }
    public let seconds: Double

    public var logLikelihood: Double { -objective / 2 }
    /// Parameters counted by AIC/BIC: β, θ and σ.
    public var degreesOfFreedom: Int { fixedEffects.count + theta.count + 1 }
    public var aic: Double { objective + 2 * Double(degreesOfFreedom) }
    public var bic: Double { objective + log(Double(observationCount)) * Double(degreesOfFreedom) }
    /// lme4's `isSingular` (tolerance 1e-4): a diagonal entry of some T is within 1e-4 of 0.
    public var isSingular: Bool { convergence.isSingular }
}

public enum FitError: Error, CustomStringConvertible {
    case rankDeficientFixedEffects(names: [String])
    /// The blocked factor every objective evaluation needs is over `BlockedFactorBudget.standard`
    /// (`excess` says how).
    case blockedFactorOverBudget(excess: String)

    public var description: String {
        switch self {
        case .rankDeficientFixedEffects(let names):
            return "the fixed-effects columns (\(names.joined(separator: ", "))) are linearly dependent; remove a redundant term from the formula"
        case .blockedFactorOverBudget(let excess):
            return "the REML/ML fit cannot run this model: \(excess), once per objective evaluation; `mixmc sample` (its default --algorithm auto picks collapsed Gibbs) samples crossed single-coefficient terms without that factor"
        }
    }
}

extension MixedModelFit {
    /// Fits by minimizing the profiled objective over θ with BOBYQA (from `StartingValues`), then
    /// checks the optimum as lme4 does (`ConvergenceCheck`).
    /// Refuses before starting a design whose blocked factor is over `BlockedFactorBudget.standard`.
    public static func fit(_ design: Design, method: EstimationMethod = .reml, options: BoundedOptimizer.Options = .init()) throws -> MixedModelFit {
        let clock = ContinuousClock.now
        if let excess = BlockedFactorBudget.standard.excess(design.crossProducts.layout) {
            throw FitError.blockedFactorOverBudget(excess: excess)
        }
        let objective = ProfiledObjective(design: design, method: method)
        let lower = design.thetaLowerBounds
        let start = StartingValues.theta(for: design)
        var options = options
        if options.initialStep == nil { options.initialStep = StartingValues.initialStep(for: design, start: start) }
        var result = BoundedOptimizer(options: options).minimize({ objective($0) }, start: start, lowerBounds: lower)
        if lower.count >= polishThetaCount {
            // On the flat surfaces of larger covariance terms BOBYQA's relative-change rule stops
            // early (sleepstudy `(poly(Days, 2) | Subject)`: 1.1e-8 above lme4's tight optimum,
            // θ 2.8e-4 off); one restart from its optimum with 1 % steps finishes the walk.
            var polish = options
            polish.initialStep = result.minimizer.map { max(abs($0) * 0.01, 1e-3) }
            let again = BoundedOptimizer(options: polish).minimize({ objective($0) }, start: result.minimizer, lowerBounds: lower)
            if again.minimum < result.minimum {
                result = BoundedOptimizer.Result(minimizer: again.minimizer, minimum: again.minimum,
                                                 evaluations: result.evaluations + again.evaluations, status: again.status)
            } else {
                result.evaluations += again.evaluations
            }
        }
        let theta = snapToBoundary(result.minimizer, lowerBounds: lower, objective: objective, tolerance: options.relativeObjectiveTolerance)
        return try evaluated(objective, theta: theta, optimizer: result, started: clock)
    }

    /// The fit at a given θ (the optimizer's, or a reference's, to compare layouts), with its
    /// convergence check.
    static func evaluated(_ objective: ProfiledObjective, theta: [Double], optimizer result: BoundedOptimizer.Result,
                          started clock: ContinuousClock.Instant) throws -> MixedModelFit {
        let (design, method, lower) = (objective.design, objective.method, objective.design.thetaLowerBounds)
        let value = objective(theta)
        guard value.isFinite else {
            throw FitError.rankDeficientFixedEffects(names: design.fixed.columnNames)
        }
        let solution = try PenalizedSolution(objective: objective, theta: theta)
        let convergence = ConvergenceCheck(objective: { objective($0) }, theta: theta, value: value, lowerBounds: lower)
        let elapsed = ContinuousClock.now - clock
        return MixedModelFit(
            method: method, objective: value, theta: theta, thetaNames: design.thetaNames, sigma: solution.sigma,
            fixedEffects: zip(design.fixed.columnNames, zip(solution.beta, solution.betaStandardErrors)).map {
                FixedEffect(name: $0.0, estimate: $0.1.0, standardError: $0.1.1)
            },
            varianceComponents: solution.varianceComponents, randomEffects: solution.randomEffects,
            fixedEffectsCovariance: solution.fixedEffectsCovariance, scaledResiduals: solution.scaledResiduals,
            observationCount: design.observationCount, rowsDropped: design.rowsDropped,
            optimizerEvaluations: result.evaluations, optimizerStatus: result.status, convergence: convergence,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }

    /// Designs with at least this many θ entries (a 3 x 3 term, or several vector terms) get one
    /// polishing restart of BOBYQA. Smaller designs, all of the example models among them, do
    /// not, so their fits (and the NUTS chains started from them) are unchanged.
    static let polishThetaCount = 6

    /// A variance whose optimum is on the boundary (Dyestuff2) leaves BOBYQA a hair above 0 when
    /// the objective's relative change stops it first. A θ entry within 1e-5 of its bound of 0 is
    /// set to 0 when that does not raise the objective by more than the optimizer's own stopping
    /// tolerance, so boundary fits come out exactly singular, as lme4's do.
    static func snapToBoundary(_ theta: [Double], lowerBounds: [Double], objective: ProfiledObjective, tolerance: Double) -> [Double] {
        var best = theta
        var bestValue = objective(best)
        for i in theta.indices where lowerBounds[i] == 0 && best[i] > 0 && best[i] < 1e-5 {
            var candidate = best
            candidate[i] = 0
            let value = objective(candidate)
            if value <= bestValue + tolerance * abs(bestValue) {
                best = candidate
                bestValue = min(value, bestValue)
            }
        }
        return best
    }
}
