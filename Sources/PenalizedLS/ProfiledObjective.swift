import Foundation
import Linalg
import ModelSpec

/// REML or ML.
public enum EstimationMethod: String, Sendable {
    case reml = "REML"
    case ml = "ML"
}

/// The profiled objective of θ in lme4's penalized least-squares formulation: −2 × the REML or
/// ML log-likelihood with β and σ profiled out (docs/math.md, eq. 6-7). A closure of θ alone,
/// as in lme4: each evaluation loads `Λᵀ A Λ + I` into the blocked factor and factorizes it.
///
/// Not thread-safe: it owns one factor workspace (depends: θ of the last evaluation).
public final class ProfiledObjective {
    public let design: Design
    public let method: EstimationMethod
    /// L(θ) of the last successful evaluation.
    public private(set) var factor: BlockedCholesky
    public private(set) var evaluations = 0

    /// Σ log w_i of the prior weights (0 without weights): residual i has variance σ²/w_i, which
    /// adds −Σ log w_i to −2 log L (lme4's `ldW`; docs/math.md, eq. 7a).
    let logWeightSum: Double

    public init(design: Design, method: EstimationMethod) {
        precondition(design.family.isGaussian, "the profiled objective is the Gaussian model's; GLMMs use PIRLS")
        self.design = design
        self.method = method
        factor = BlockedCholesky(layout: design.crossProducts.layout)
        logWeightSum = design.priorWeights?.reduce(0) { $0 + log($1) } ?? 0
    }

    /// The objective at θ, or +∞ when the system is not positive definite there.
    public func callAsFunction(_ theta: [Double]) -> Double {
        evaluations += 1
        let products = design.crossProducts
        products.loadScaled(into: &factor, factors: design.relativeCovarianceFactors(theta: theta))
        do { try factor.factorize() } catch { return .infinity }
        return objective(from: factor)
    }

    /// −2 log-likelihood from a factor L(θ) (eq. 6-7).
    func objective(from factor: BlockedCholesky) -> Double {
        let products = design.crossProducts
        let n = Double(design.observationCount)
        let p = Double(design.fixedCount)
        let logDetL = 2 * (factor.firstLogDiagonalSum() + factor.denseLogDiagonalSum(0 ..< products.fixedStart))
        let pwrss = penalizedResidualSumOfSquares(factor)
        switch method {
        case .ml:
            return logDetL + n * (1 + log(2 * Double.pi * pwrss / n)) - logWeightSum
        case .reml:
            let logDetRX = 2 * factor.denseLogDiagonalSum(products.fixedStart ..< products.fixedStart + design.fixedCount)
            return logDetL + logDetRX + (n - p) * (1 + log(2 * Double.pi * pwrss / (n - p))) - logWeightSum
        }
    }

    /// ‖y − Xβ̂ − ZΛû‖² + ‖û‖²: the square of L's last diagonal entry.
    func penalizedResidualSumOfSquares(_ factor: BlockedCholesky) -> Double {
        let last = design.crossProducts.responseIndex
        return factor.dense[last, last] * factor.dense[last, last]
    }
}
