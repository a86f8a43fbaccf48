import Foundation
import CNumerics

/// The link g in g(μ) = η.
public enum Link: String, Sendable, CaseIterable {
    case identity, logit, probit, cloglog, log
}

/// The response distribution of a (generalized) linear mixed model and its link, as R's
/// `family` objects define them: inverse link, its derivative, variance function, deviance
/// residuals and the log-likelihood with the family's constants (docs/math.md, eq. 70-73).
public struct Family: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case gaussian, binomial, poisson
    }

    public let kind: Kind
    public let link: Link

    public static let gaussian = Family(validated: .gaussian, link: .identity)

    /// The family with `link`, or its canonical link (identity, logit, log) when nil.
    public init(_ kind: Kind, link: Link? = nil) throws(FamilyError) {
        let allowed = Self.links(of: kind)
        let chosen = link ?? allowed[0]
        guard allowed.contains(chosen) else { throw FamilyError.unsupportedLink(kind, chosen) }
        self.init(validated: kind, link: chosen)
    }

    private init(validated kind: Kind, link: Link) {
        self.kind = kind
        self.link = link
    }

    /// The links each family takes, its canonical (default) link first.
    public static func links(of kind: Kind) -> [Link] {
        switch kind {
        case .gaussian: return [.identity]
        case .binomial: return [.logit, .probit, .cloglog]
        case .poisson: return [.log]
        }
    }

    /// True when the family has a dispersion parameter σ (Gaussian only).
    public var hasDispersion: Bool { kind == .gaussian }
    public var isGaussian: Bool { kind == .gaussian }
    public var description: String { "\(kind.rawValue)(link = \"\(link.rawValue)\")" }

    // R's thresholds (family.c, binomial()/poisson() in R's stats): η is clamped so that μ stays
    // strictly inside the family's range and dμ/dη stays positive.
    // Inlinable, so PIRLS's per-row loops (another module) compile the switch away.
    public static let epsilon = Double.ulpOfOne
    public static let logitThreshold = 30.0
    @usableFromInline static let probitThreshold = -gsl_cdf_ugaussian_Pinv(Double.ulpOfOne)

    /// μ = g⁻¹(η).
    @inlinable
    public func mean(_ eta: Double) -> Double {
        switch link {
        case .identity: return eta
        case .log: return Swift.max(exp(eta), Self.epsilon)
        case .logit:
            let t = eta < -Self.logitThreshold ? Self.epsilon : (eta > Self.logitThreshold ? 1 / Self.epsilon : exp(eta))
            return t / (1 + t)
        case .probit:
            let clamped = Swift.min(Swift.max(eta, -Self.probitThreshold), Self.probitThreshold)
            return gsl_cdf_ugaussian_P(clamped)
        case .cloglog:
            return Swift.max(Swift.min(-expm1(-exp(eta)), 1 - Self.epsilon), Self.epsilon)
        }
    }

    /// μ and dμ/dη at η with one exponential where the link allows (logit, log).
    @inlinable
    public func meanAndDerivative(_ eta: Double) -> (mean: Double, derivative: Double) {
        switch link {
        case .logit:
            if eta > Self.logitThreshold || eta < -Self.logitThreshold { return (mean(eta), Self.epsilon) }
            let e = exp(eta)
            let onePlus = 1 + e
            return (e / onePlus, e / (onePlus * onePlus))
        case .log:
            let m = Swift.max(exp(eta), Self.epsilon)
            return (m, m)
        default:
            return (mean(eta), meanDerivative(eta))
        }
    }

    /// One row's IRLS weight and working-response correction at η (docs/math.md, eq. 106): w =
    /// a (dμ/dη)² / V(μ) and (y − μ) / (dμ/dη), the working response being η plus the correction
    /// (less the offset where the caller works without it); a is the row's prior weight.
    @inlinable
    public func irlsWeightAndCorrection(y: Double, eta: Double, priorWeight: Double) -> (weight: Double, correction: Double) {
        let (mu, derivative) = meanAndDerivative(eta)
        return (priorWeight * derivative * derivative / variance(mu), (y - mu) / derivative)
    }

    /// dμ/dη at η.
    @inlinable
    public func meanDerivative(_ eta: Double) -> Double {
        switch link {
        case .identity: return 1
        case .log: return Swift.max(exp(eta), Self.epsilon)
        case .logit:
            if eta > Self.logitThreshold || eta < -Self.logitThreshold { return Self.epsilon }
            let e = exp(eta)
            return e / ((1 + e) * (1 + e))
        case .probit:
            return Swift.max(gsl_ran_ugaussian_pdf(eta), Self.epsilon)
        case .cloglog:
            let clamped = Swift.min(eta, 700)
            return Swift.max(exp(clamped) * exp(-exp(clamped)), Self.epsilon)
        }
    }

    /// η = g(μ).
    public func linkFunction(_ mu: Double) -> Double {
        switch link {
        case .identity: return mu
        case .log: return Foundation.log(mu)
        case .logit: return Foundation.log(mu / (1 - mu))
        case .probit: return gsl_cdf_ugaussian_Pinv(mu)
        case .cloglog: return Foundation.log(-Foundation.log(1 - mu))
        }
    }

    /// V(μ).
    @inlinable
    public func variance(_ mu: Double) -> Double {
        switch kind {
        case .gaussian: return 1
        case .binomial: return mu * (1 - mu)
        case .poisson: return mu
        }
    }

    /// The squared deviance residual of one row, d(y, μ) · w (R's `dev.resids`): the saturated
    /// model's −2 log-likelihood subtracted from the row's (eq. 72).
    @inlinable
    public func devianceResidual(y: Double, mu: Double, weight: Double) -> Double {
        switch kind {
        case .gaussian:
            return weight * (y - mu) * (y - mu)
        case .binomial:
            return 2 * weight * (Self.yLogYOverMu(y, mu) + Self.yLogYOverMu(1 - y, 1 - mu))
        case .poisson:
            return 2 * weight * (Self.yLogYOverMu(y, mu) - (y - mu))
        }
    }

    /// −2 log p(y | μ) of one row with the family's constants (R's `family$aic` per row, the
    /// Laplace deviance's data term as lme4 reports it, eq. 71). Binomial rows take y as the
    /// proportion of `weight` trials; Poisson rows a count with prior weight `weight`.
    /// Not defined for the Gaussian family (its σ is profiled elsewhere).
    @inline(__always)
    public func minusTwoLogLikelihood(y: Double, mu: Double, weight: Double) -> Double {
        switch kind {
        case .gaussian:
            preconditionFailure("the Gaussian log-likelihood needs σ; it is profiled in ProfiledObjective")
        case .binomial:
            guard weight > 0 else { return 0 }
            let successes = (weight * y).rounded(), trials = weight.rounded()
            let failures = trials - successes
            var value = lgamma(trials + 1) - lgamma(successes + 1) - lgamma(failures + 1)
            if successes > 0 { value += successes * Foundation.log(mu) }
            if failures > 0 { value += failures * Foundation.log(1 - mu) }
            return -2 * value
        case .poisson:
            var value = -mu - lgamma(y + 1)
            if y > 0 { value += y * Foundation.log(mu) }
            return -2 * weight * value
        }
    }

    /// y log(y/μ), taken as 0 at y = 0.
    @inlinable
    static func yLogYOverMu(_ y: Double, _ mu: Double) -> Double {
        y > 0 ? y * Foundation.log(y / mu) : 0
    }
}

public enum FamilyError: Error, CustomStringConvertible, Equatable {
    case unsupportedLink(Family.Kind, Link)

    public var description: String {
        switch self {
        case .unsupportedLink(let kind, let link):
            let allowed = Family.links(of: kind).map(\.rawValue).joined(separator: ", ")
            return "the \(kind.rawValue) family has no link '\(link.rawValue)'; its links are \(allowed)"
        }
    }
}
