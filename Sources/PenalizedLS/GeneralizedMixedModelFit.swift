import Foundation
import CNumerics
import Linalg
import ModelSpec

/// A binomial or Poisson mixed-model fit: the numbers `summary(glmer(...))` prints (Laplace or
/// adaptive Gauss-Hermite quadrature) or MASS::glmmPQL's (PQL).
public struct GeneralizedMixedModelFit: Sendable {
    public enum Method: Sendable, Equatable {
        /// lme4's nAGQ = 1.
        case laplace
        /// lme4's nAGQ = 0: the Laplace deviance optimized over θ alone, β found by PIRLS beside u.
        case fastLaplace
        /// Adaptive Gauss-Hermite quadrature with this many nodes (one scalar random-effects term).
        case adaptiveQuadrature(nodes: Int)
        /// Penalized quasi-likelihood (MASS::glmmPQL): alternating IRLS and weighted ML fits.
        case penalizedQuasiLikelihood

        /// "Laplace", "AGQ" or "PQL" (the JSON's `method`).
        public var name: String {
            switch self {
            case .laplace, .fastLaplace: return "Laplace"
            case .adaptiveQuadrature: return "AGQ"
            case .penalizedQuasiLikelihood: return "PQL"
            }
        }

        /// lme4's nAGQ (1 for Laplace; 0 has no meaning for PQL and is reported as nil).
        public var quadratureNodes: Int? {
            switch self {
            case .laplace: return 1
            case .fastLaplace: return 0
            case .adaptiveQuadrature(let nodes): return nodes
            case .penalizedQuasiLikelihood: return nil
            }
        }
    }

    public let family: Family
    public let method: Method
    /// −2 log L with the family's constants at the optimum (lme4's Laplace convention, comparable
    /// across methods); for PQL the Laplace deviance at the PQL estimates.
    public let deviance: Double
    /// −2 Σ log p(y_i | μ_i = y_i): the saturated model's −2 log-likelihood (eq. 72).
    public let saturatedDeviance: Double
    public let theta: [Double]
    public let thetaNames: [String]
    public let fixedEffects: [MixedModelFit.FixedEffect]
    /// PIRLS's (R_X-based) standard errors of β̂, conditional on θ.
    public let fixedEffectsStandardErrorsRX: [Double]
    /// Var(β̂), row-major: 2 H⁻¹'s β block for Laplace and AGQ (H the Hessian of the deviance
    /// over (θ, β), as lme4's summary), the weighted ML fit's for PQL.
    public let fixedEffectsCovariance: [[Double]]
    public let varianceComponents: [MixedModelFit.VarianceComponent]
    public let randomEffects: [MixedModelFit.RandomEffects]
    /// PQL's residual scale (glmmPQL's `sigma`); nil for Laplace and AGQ, where it is 1.
    public let dispersion: Double?
    public let pearsonResiduals: [Double]
    public let observationCount: Int
    public let rowsDropped: Int
    public let optimizerEvaluations: Int
    public let optimizerStatus: Int32
    /// PQL's iterations; PIRLS iterations at the final evaluation otherwise.
    public let iterations: Int
    public let seconds: Double
    let lowerBounds: [Double]
    /// lme4's check of the optimum from the gradient and Hessian over (θ, β) (not run with
    /// `--standard-errors rx`, nor for nAGQ = 0 and PQL).
    public let convergence: ConvergenceCheck

    public var converged: Bool { optimizerStatus > 0 && convergence.passed }
    /// lme4's logLik: −½ of the deviance it prints (for nAGQ > 1 without the saturated constant).
    public var logLikelihood: Double { -lme4Deviance / 2 }
    /// The deviance as lme4 prints it: nAGQ > 1 leaves out the saturated model's constant.
    public var lme4Deviance: Double {
        if case .adaptiveQuadrature(let nodes) = method, nodes > 1 { return deviance - saturatedDeviance }
        return deviance
    }
    /// Parameters counted by AIC/BIC: β and θ.
    public var degreesOfFreedom: Int { fixedEffects.count + theta.count }
    public var aic: Double { lme4Deviance + 2 * Double(degreesOfFreedom) }
    public var bic: Double { lme4Deviance + log(Double(observationCount)) * Double(degreesOfFreedom) }
    public var isSingular: Bool { zip(theta, lowerBounds).contains { $0.0 == $0.1 && $0.1 == 0 } }
}

public enum GeneralizedFitError: Error, CustomStringConvertible, Equatable {
    case quadratureNeedsOneScalarTerm(terms: [String])
    case quadratureNodes(Int)
    /// The blocked factor every PIRLS iteration needs is over `BlockedFactorBudget.standard`.
    case blockedFactorOverBudget(excess: String)

    public var description: String {
        switch self {
        case .blockedFactorOverBudget(let excess):
            return "the binomial/Poisson fit cannot run this model: \(excess), once per PIRLS iteration; mixmc has no sparse factorization for binomial and Poisson designs this large yet: merge levels of the largest crossed factor, or fit it with lme4's glmer"
        case .quadratureNeedsOneScalarTerm(let terms):
            return "adaptive Gauss-Hermite quadrature (--nagq > 1) integrates one scalar random effect per group, as lme4 allows; this model has \(terms.joined(separator: " + ")). Use the Laplace approximation (--nagq 1)"
        case .quadratureNodes(let nodes):
            return "--nagq must be from 0 to 25 (lme4's range); got \(nodes)"
        }
    }
}
