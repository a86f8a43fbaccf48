import Foundation
import CNumerics

extension Family {
    /// log p(y | η) of one row without its η-free constant, and its derivative r = ∂/∂η
    /// (docs/math.md, eq. 91-92): what the full log-posterior sums over the rows.
    ///
    /// Binomial rows take y as the proportion of `weight` trials (s = weight·y successes,
    /// f = weight − s failures): s log μ + f log(1 − μ). Poisson rows a count with prior weight
    /// `weight`: weight (y η − e^η).
    ///
    /// Exact in η: unlike `mean` (R's clamps, which keep IRLS's μ inside (0, 1)), nothing is
    /// clamped, so the density a sampler moves in is the model's everywhere; log μ and log(1 − μ)
    /// are computed without forming 1 − μ (softplus for logit, log erfc for probit, expm1 for
    /// cloglog), so their tails stay accurate to |η| of several hundred. A value of −∞ (a Poisson
    /// mean that overflows, a failure at μ = 1 in double precision) is a zero density, which the
    /// samplers handle. Not defined for the Gaussian family (its likelihood needs σ).
    @inlinable
    public func logLikelihoodKernel(y: Double, eta: Double, weight: Double) -> (value: Double, derivative: Double) {
        switch kind {
        case .gaussian:
            preconditionFailure("the Gaussian log-likelihood needs σ; FullLogPosterior computes it from the cross-products")
        case .poisson:
            let mu = exp(eta)
            return (weight * (y * eta - mu), weight * (y - mu))
        case .binomial:
            let successes = weight * y
            let failures = weight - successes
            let (logMu, dLogMu, logOneMinusMu, dLogOneMinusMu) = Self.logMeans(eta, link: link)
            var value = 0.0
            if successes > 0 { value += successes * logMu }
            if failures > 0 { value += failures * logOneMinusMu }
            return (value, successes * dLogMu + failures * dLogOneMinusMu)
        }
    }

    /// log p(y | η + d) − log p(y | η) of one row, written so that it stays exact where log p is
    /// large: a Poisson count of 10¹² has y η near 10¹³, whose last digit is a thousandth, while
    /// Metropolis-Hastings and slice steps need differences of order one. Poisson:
    /// w (y d − e^η expm1(d)); binomial logit: s d − n (softplus(η + d) − softplus(η)), the
    /// kernel s η − n softplus(η) (log μ = η − softplus(η), log(1 − μ) = −softplus(η);
    /// `softplusChange`: three transcendental calls where the kernels' difference takes ten);
    /// other binomial links: the kernels' difference (n trials bound its size).
    @inlinable
    public func logLikelihoodChange(y: Double, eta: Double, change d: Double, weight: Double) -> Double {
        logLikelihoodChange(y: y, eta: eta, basis: changeBasis(eta: eta), change: d, weight: weight)
    }

    /// What `logLikelihoodChange` computes of η alone, for many changes from one η (a slice
    /// step's evaluations): e^η for Poisson, logistic(η) for the binomial logit link (as
    /// `softplusChange` forms it), η itself (unused) for the other links.
    @inlinable
    public func changeBasis(eta: Double) -> Double {
        switch kind {
        case .poisson: return exp(eta)
        case .binomial where link == .logit: return Self.logistic(eta)
        default: return eta
        }
    }

    /// `logLikelihoodChange` with η's `changeBasis` given: the same value, bit for bit.
    @inlinable
    public func logLikelihoodChange(y: Double, eta: Double, basis: Double, change d: Double, weight: Double) -> Double {
        logLikelihoodChange(y: y, eta: eta, basis: basis, change: d, changeFactor: changeFactor(d), weight: weight)
    }

    /// What `logLikelihoodChange` computes of the change d alone, for rows that share d (the rows
    /// of one level of a random intercept): expm1(d) for Poisson and for the binomial logit link
    /// (the logit's is used only for |d| < 1), d itself (unused) for the other links.
    @inlinable
    public func changeFactor(_ d: Double) -> Double {
        switch kind {
        case .poisson: return expm1(d)
        case .binomial where link == .logit: return abs(d) < 1 ? expm1(d) : d
        default: return d
        }
    }

    /// `logLikelihoodChange` with η's `changeBasis` and d's `changeFactor` given: the same value,
    /// bit for bit.
    @inlinable
    public func logLikelihoodChange(y: Double, eta: Double, basis: Double, change d: Double, changeFactor: Double, weight: Double) -> Double {
        switch kind {
        case .poisson:
            return weight * (y * d - basis * changeFactor)
        case .binomial where link == .logit:
            return weight * y * d - weight * Self.softplusChange(eta, d, logistic: basis, expm1Change: changeFactor)
        default:
            return logLikelihoodKernel(y: y, eta: eta + d, weight: weight).value - logLikelihoodKernel(y: y, eta: eta, weight: weight).value
        }
    }

    /// The η-free part of one row's log p(y | η) (−½ of `minusTwoLogLikelihood`'s constant):
    /// log C(n, s) for a binomial row (s and n rounded as R's `binomial()$aic` rounds them),
    /// −weight · log y! for a Poisson row, so that constant + kernel = −½ `minusTwoLogLikelihood`.
    public func logLikelihoodConstant(y: Double, weight: Double) -> Double {
        switch kind {
        case .gaussian:
            preconditionFailure("the Gaussian log-likelihood needs σ; FullLogPosterior computes it from the cross-products")
        case .poisson:
            return -weight * lgamma(y + 1)
        case .binomial:
            guard weight > 0 else { return 0 }
            let successes = (weight * y).rounded(), trials = weight.rounded()
            return lgamma(trials + 1) - lgamma(successes + 1) - lgamma(trials - successes + 1)
        }
    }

    /// (log μ, d log μ/dη, log(1 − μ), d log(1 − μ)/dη) of a binomial link at η, unclamped:
    /// - logit: log μ = −softplus(−η), log(1 − μ) = −softplus(η); derivatives 1 − μ and −μ.
    /// - probit: log μ = log Φ(η), log(1 − μ) = log Φ(−η); derivatives λ(η) and −λ(−η) with
    ///   λ = φ/Φ the inverse Mills ratio, formed as exp(log φ − log Φ).
    /// - cloglog: with t = e^η, log μ = log(−expm1(−t)) (η where t underflows), log(1 − μ) = −t;
    ///   derivatives t/expm1(t) (1 at t = 0, 0 once t overflows) and −t.
    @inlinable
    static func logMeans(_ eta: Double, link: Link) -> (Double, Double, Double, Double) {
        switch link {
        case .logit:
            let mu = eta >= 0 ? 1 / (1 + exp(-eta)) : exp(eta) / (1 + exp(eta))
            return (-softplus(-eta), 1 - mu, -softplus(eta), -mu)
        case .probit:
            let logUpper = logStandardNormalCDF(eta), logLower = logStandardNormalCDF(-eta)
            let logDensity = -0.5 * eta * eta - 0.5 * log(2 * Double.pi)
            return (logUpper, exp(logDensity - logUpper), logLower, -exp(logDensity - logLower))
        case .cloglog:
            let t = exp(eta)
            let logMu = t > 0 ? log(-expm1(-t)) : eta
            let dLogMu = t == 0 ? 1 : (t.isFinite ? t / expm1(t) : 0)
            return (logMu, dLogMu, -t, -t)
        case .identity, .log:
            preconditionFailure("\(link) is not a binomial link")
        }
    }

    /// softplus(η + d) − softplus(η): for |d| < 1, log1p(μ expm1(d)) with μ = logistic(η) (the
    /// argument lies in (−0.64, 1.72), so nothing cancels and the change keeps its relative
    /// precision however small μ is), one log1p where the difference of two softplus takes two;
    /// further out that difference itself.
    @inlinable
    static func softplusChange(_ eta: Double, _ d: Double, logistic mu: Double, expm1Change: Double) -> Double {
        guard abs(d) < 1 else { return softplus(eta + d) - softplus(eta) }
        return log1p(mu * expm1Change)
    }

    /// 1 / (1 + e^−η) without overflow.
    @inlinable
    static func logistic(_ eta: Double) -> Double {
        let e = exp(-abs(eta))
        return eta >= 0 ? 1 / (1 + e) : e / (1 + e)
    }

    /// log(1 + e^x) without overflow or loss of its small values.
    @inlinable
    static func softplus(_ x: Double) -> Double {
        x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
    }

    /// log Φ(x): log erfc for x < 0 (accurate far into the lower tail), log1p(−Q(x)) above.
    @inlinable
    static func logStandardNormalCDF(_ x: Double) -> Double {
        x < 0 ? gsl_sf_log_erfc(-x / 2.squareRoot()) - log(2.0) : log1p(-gsl_cdf_ugaussian_Q(x))
    }
}
