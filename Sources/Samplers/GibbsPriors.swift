/// The priors the Gibbs sampler uses (docs/math.md, eq. 20):
///
/// - β_i ~ N(`fixedMeans[i]`, `fixedSDs[i]`²), independent; an SD of +∞ is a flat prior;
/// - σ ~ half-Cauchy(0, `sigmaScale`);
/// - term j's coefficient SDs τ_{j,c} ~ half-Cauchy(0, `tauScales[j][c]`), one scale per coefficient;
/// - for a term with k_j ≥ 2 coefficients, its correlation matrix R_j ~ LKJ(`lkjEta[j]`), with
///   Σ_j = diag(τ_j) R_j diag(τ_j). `lkjEta[j]` is not read for scalar terms.
///
/// Terms are indexed in the design's order (decreasing number of levels, as lme4 orders them).
public struct GibbsPriors: Sendable, Equatable {
    public var fixedMeans: [Double]
    public var fixedSDs: [Double]
    public var sigmaScale: Double
    /// Per term, per coefficient.
    public var tauScales: [[Double]]
    public var lkjEta: [Double]

    public init(fixedMeans: [Double], fixedSDs: [Double], sigmaScale: Double, tauScales: [[Double]], lkjEta: [Double]) {
        self.fixedMeans = fixedMeans
        self.fixedSDs = fixedSDs
        self.sigmaScale = sigmaScale
        self.tauScales = tauScales
        self.lkjEta = lkjEta
    }

    /// A copy whose arrays are its own (`Array.unsharedCopy`), for one chain.
    public func unsharedCopy() -> GibbsPriors {
        GibbsPriors(fixedMeans: fixedMeans.unsharedCopy(), fixedSDs: fixedSDs.unsharedCopy(), sigmaScale: sigmaScale,
                    tauScales: tauScales.map { $0.unsharedCopy() }, lkjEta: lkjEta.unsharedCopy())
    }

    /// Checks the shapes against a model with `fixedCount` fixed effects and terms of
    /// `termSizes` coefficients, and that every scale is positive.
    public func validate(fixedCount: Int, termSizes: [Int]) throws(GibbsError) {
        guard fixedMeans.count == fixedCount, fixedSDs.count == fixedCount else {
            throw .priorsDoNotMatch("\(fixedCount) fixed effects, but \(fixedMeans.count) prior means and \(fixedSDs.count) prior SDs")
        }
        guard fixedMeans.allSatisfy(\.isFinite), fixedSDs.allSatisfy({ $0 > 0 }) else {
            throw .priorsDoNotMatch("fixed-effect prior means must be finite and SDs positive (+∞ for a flat prior)")
        }
        guard sigmaScale > 0, sigmaScale.isFinite else {
            throw .priorsDoNotMatch("the half-Cauchy scale of σ must be positive and finite, got \(sigmaScale)")
        }
        guard tauScales.count == termSizes.count, lkjEta.count == termSizes.count else {
            throw .priorsDoNotMatch("\(termSizes.count) random-effects terms, but \(tauScales.count) lists of SD scales and \(lkjEta.count) LKJ shapes")
        }
        for (j, k) in termSizes.enumerated() {
            guard tauScales[j].count == k else {
                throw .priorsDoNotMatch("term \(j + 1) has \(k) coefficients, but \(tauScales[j].count) SD scales")
            }
            guard tauScales[j].allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw .priorsDoNotMatch("term \(j + 1): half-Cauchy scales must be positive and finite")
            }
            guard k == 1 || (lkjEta[j] > 0 && lkjEta[j].isFinite) else {
                throw .priorsDoNotMatch("term \(j + 1): the LKJ shape must be positive and finite, got \(lkjEta[j])")
            }
        }
    }
}

/// Why a Gibbs sampler could not be built or could not take a step.
public enum GibbsError: Error, Equatable, CustomStringConvertible {
    /// The priors' shapes or values do not fit the design.
    case priorsDoNotMatch(String)
    /// A covariance given for term `term` is not symmetric positive definite.
    case covarianceNotPositiveDefinite(term: Int)
    /// The (u, β) system was not positive definite (X rank-deficient under a flat prior on β).
    case coefficientSystemNotPositiveDefinite(String)
    /// The collapsed crossed sampler was given a term with more than one coefficient.
    case termNotScalar(term: String, coefficients: Int)
    /// The model's family (or its data) is not one this Gibbs sampler handles.
    case familyNotSupported(String)
    /// The blocked factor is over `BlockedFactorBudget.standard` (`excess` says how);
    /// `instead` says what can run the model (`GibbsError.insteadOfTheBlockedFactor`).
    case blockedFactorOverBudget(excess: String, instead: String)

    public var description: String {
        switch self {
        case .priorsDoNotMatch(let message): return "priors do not match the model: \(message)"
        case .covarianceNotPositiveDefinite(let term): return "the covariance of term \(term + 1) is not positive definite"
        case .coefficientSystemNotPositiveDefinite(let message):
            return "the conditional precision of (β, b) is not positive definite (\(message)); X may be rank-deficient under a flat prior on β"
        case .termNotScalar(let term, let coefficients):
            return "the collapsed Gibbs sampler needs every random-effects term to be a single coefficient (a random intercept such as (1 | g)), but \(term) has \(coefficients); use --algorithm gibbs or nuts for this model"
        case .familyNotSupported(let message): return message
        case .blockedFactorOverBudget(let excess, let instead):
            return "the blocked Gibbs sampler cannot run this model: \(excess); \(instead)"
        }
    }
}
