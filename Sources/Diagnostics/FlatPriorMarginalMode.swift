import Foundation
import ModelSpec
import PenalizedLS

/// The mode over (θ, σ) of the posterior p(θ, σ | y) with β and the random effects b integrated
/// out under flat priors on β, θ and σ (docs/compare.md).
///
/// With flat priors the posterior is proportional to the integrated likelihood
///
///   p(y | θ, σ) = ∫∫ p(y | β, b, σ) p(b | θ, σ) db dβ,
///
/// which is the REML likelihood (Harville 1974; docs/math.md eq. 54 with every β prior flat:
/// −2 log p = log|L_θ|² + log|R_X|² + (n − p) log(2πσ²) + r²/σ², eq. 7 before σ is profiled out).
/// So its mode is the REML estimate (θ̂, σ̂): the two must coincide, and a mismatch is a bug in
/// one of them. This computation shares nothing with `ProfiledObjective`: the value comes from
/// `CollapsedLogPosterior` in its `.marginal` form (β integrated out through its Gaussian
/// integral, b through the blocked factor), and the maximum is taken jointly over (θ, log σ), not
/// with σ profiled out. θ is lme4's (Σ_j = σ² T_j T_jᵀ, T_j lower triangular, `Design`'s θ map);
/// for flat priors the location of the maximum does not depend on the parameterization, and log σ
/// only rescales the optimizer's steps.
public struct FlatPriorMarginalMode: Sendable {
    public let thetaNames: [String]
    /// θ at the mode, lme4's order.
    public let theta: [Double]
    /// σ at the mode.
    public let sigma: Double
    /// log p(y | θ, σ) at the mode (β and b integrated out, flat β prior); equals −½ × the REML
    /// criterion at the REML estimate.
    public let logLikelihood: Double
    /// Where the search started: θ = lme4's start (T_j = I), σ = SD(y).
    public let startTheta: [Double]
    public let startSigma: Double
    /// Objective evaluations over all BOBYQA runs.
    public let evaluations: Int
    public let converged: Bool

    /// Maximizes log p(y | θ, σ) with BOBYQA under θ's lower bounds (diagonal of T_j ≥ 0),
    /// restarting from the last optimum until a run no longer improves the value by more than
    /// 1e-14 relative (at most 10 runs): NLopt's BOBYQA stops on the first small step (θ and σ
    /// are strongly coupled when σ is not profiled out; from T = I the first run can stop
    /// several units of log-likelihood short), and a restart with a fresh trust region goes on.
    /// Every run starts with steps of 0.25 in θ and log σ.
    public static func compute(design: Design) throws -> FlatPriorMarginalMode {
        let flat = PriorSet(fixed: design.fixed.columnNames.map { _ in NormalPrior(mean: 0, sd: .infinity) },
                            sigmaScale: 1, tauScales: design.terms.map { [Double](repeating: 1, count: $0.size) },
                            lkjEta: design.terms.map { _ in 1 })
        var posterior = try CollapsedLogPosterior(design: design, priors: flat, integrateFixedEffects: true)
        let thetaCount = design.thetaCount
        let objective: ([Double]) -> Double = { x in
            let theta = Array(x[0..<thetaCount])
            let sigma = exp(x[thetaCount])
            guard let parameters = Self.parameters(design: design, theta: theta, sigma: sigma),
                  let value = posterior.logLikelihood(parameters) else { return .infinity }
            return -value
        }
        let startTheta = design.thetaStart
        let startSigma = standardDeviation(design.response)
        var x = startTheta + [log(startSigma)]
        let lower = design.thetaLowerBounds + [-Double.infinity]
        var best = objective(x)
        var evaluations = 1
        var converged = false
        for _ in 0..<10 {
            var options = BoundedOptimizer.Options()
            options.initialStep = [Double](repeating: 0.25, count: x.count)
            // Minimize f − f(x): near the optimum the values are then near 0, so the relative
            // objective test does not stop BOBYQA at 1e-13 of |f| (≈ 1e-10 absolute on
            // sleepstudy, where a change of 2e-6 in θ₂₁ moves f by less), and the parameter
            // test (1e-10) decides.
            let offset = best.isFinite ? best : 0
            let result = BoundedOptimizer(options: options).minimize({ objective($0) - offset }, start: x, lowerBounds: lower)
            evaluations += result.evaluations
            let value = result.minimum + offset
            let improvement = best - value
            if value <= best {
                x = result.minimizer
                best = value
                converged = result.converged
            }
            if !(improvement > 1e-14 * abs(best)) { break }
        }
        return FlatPriorMarginalMode(thetaNames: design.thetaNames, theta: Array(x[0..<thetaCount]), sigma: exp(x[thetaCount]),
                                     logLikelihood: -best, startTheta: startTheta, startSigma: startSigma,
                                     evaluations: evaluations, converged: converged && best.isFinite)
    }

    /// (σ, τ_j, W_j) from θ and σ: L_j = σ T_j = chol(Σ_j), τ_jr = ‖row r of L_j‖, W_j = diag(τ_j)⁻¹ L_j.
    /// A zero row (an SD on its boundary) gets τ = 0 and W's row e_r, so Σ_j is still represented.
    /// nil when a row of W would have no positive diagonal room left (not representable).
    static func parameters(design: Design, theta: [Double], sigma: Double) -> PosteriorParameters? {
        guard sigma > 0, sigma.isFinite else { return nil }
        var tau: [[Double]] = []
        var factors: [[Double]] = []
        for (t, term) in zip(design.relativeCovarianceFactors(theta: theta), design.terms) {
            let k = term.size
            var sds = [Double](repeating: 0, count: k)
            var w = [Double](repeating: 0, count: k * k)
            for r in 0..<k {
                var s = 0.0
                for c in 0...r { s += t[r + c * k] * t[r + c * k] }
                let norm = s.squareRoot()
                sds[r] = sigma * norm
                if norm > 0 {
                    for c in 0...r { w[r + c * k] = t[r + c * k] / norm }
                    // The transform needs W_rr > 0 (a sign flip of a row of T leaves Σ unchanged).
                    if w[r + r * k] < 0 { for c in 0...r { w[r + c * k] = -w[r + c * k] } }
                    if r > 0 && !(w[r + r * k] > 0) { return nil }
                } else {
                    w[r + r * k] = 1
                }
            }
            tau.append(sds)
            factors.append(w)
        }
        return PosteriorParameters(beta: [], sigma: sigma, tau: tau, correlationFactors: factors)
    }
}
