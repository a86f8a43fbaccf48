import Foundation
import ModelSpec

/// μ, dμ/dη and the summed deviance residuals Σ d(y_i, μ_i) at a linear predictor η: the pass over
/// the rows that every PIRLS step makes (eq. 72).
///
/// For the canonical links the deviance residual is written in η, not μ, so that no row needs a
/// logarithm of its own: with e = exp(η),
/// - binomial-logit: d = 2a[y log y + (1 − y) log(1 − y) + log(1 + e) − yη], and the log(1 + e) of
///   rows with one trial are taken as the logarithm of a product of 16 of them (each factor is at
///   most 1 + e³⁰, so a product of 16 cannot overflow);
/// - Poisson-log: d = 2a[y log y − y + μ − yη].
/// The constants are computed once. Rows whose η is clamped (|η| > 30 for logit, μ held at ε for
/// log) and the other links take R's `dev.resids` in μ.
///
/// The sum is compensated: the finite-difference Hessian behind the standard errors divides the
/// deviance's rounding by the squared step (1e-8). On VerbAgg (7,584 rows) the second difference
/// at lme4's step 1e-4 along the intercept was off by 1.7e-3 (of 119) with a plain sum, 2e-4 with
/// this one.
struct RowDeviance {
    let family: Family
    let y: [Double]
    let priorWeights: [Double]
    /// a_i (y log y + (1 − y) log(1 − y)) (binomial) or a_i (y log y − y) (Poisson).
    private let constants: [Double]
    /// a_i y_i.
    private let weightedResponses: [Double]

    private static let rowsPerProduct = 16

    init(family: Family, y: [Double], priorWeights: [Double]) {
        self.family = family
        self.y = y
        self.priorWeights = priorWeights
        weightedResponses = zip(priorWeights, y).map { $0 * $1 }
        switch family.kind {
        case .binomial:
            constants = zip(priorWeights, y).map { a, y in a * (Self.yLogY(y) + Self.yLogY(1 - y)) }
        case .poisson:
            constants = zip(priorWeights, y).map { a, y in a * (Self.yLogY(y) - y) }
        case .gaussian:
            constants = []
        }
    }

    /// Fills `mu` and `derivative` from `eta` and returns Σ d(y_i, μ_i).
    func evaluate(eta: [Double], mu: inout [Double], derivative: inout [Double]) -> Double {
        // Through buffers: element writes to the arrays would each check their uniqueness.
        mu.withUnsafeMutableBufferPointer { mu in
            derivative.withUnsafeMutableBufferPointer { derivative in
                switch (family.kind, family.link) {
                case (.binomial, .logit): return logit(eta: eta, mu: mu, derivative: derivative)
                case (.poisson, .log): return logLink(eta: eta, mu: mu, derivative: derivative)
                default: return generic(eta: eta, mu: mu, derivative: derivative)
                }
            }
        }
    }

    private func generic(eta: [Double], mu: UnsafeMutableBufferPointer<Double>, derivative: UnsafeMutableBufferPointer<Double>) -> Double {
        let family = self.family, y = self.y, prior = priorWeights
        var total = CompensatedSum()
        for i in eta.indices {
            (mu[i], derivative[i]) = family.meanAndDerivative(eta[i])
            total.add(family.devianceResidual(y: y[i], mu: mu[i], weight: prior[i]))
        }
        return total.value
    }

    private func logit(eta: [Double], mu: UnsafeMutableBufferPointer<Double>, derivative: UnsafeMutableBufferPointer<Double>) -> Double {
        let family = self.family, y = self.y, prior = priorWeights, constants = self.constants, weighted = weightedResponses
        var total = CompensatedSum()
        var product = 1.0, factors = 0
        for i in eta.indices {
            let value = eta[i]
            guard abs(value) <= Family.logitThreshold else {
                (mu[i], derivative[i]) = family.meanAndDerivative(value)
                total.add(family.devianceResidual(y: y[i], mu: mu[i], weight: prior[i]) / 2)
                continue
            }
            let e = exp(value)
            let onePlus = 1 + e
            mu[i] = e / onePlus
            derivative[i] = e / (onePlus * onePlus)
            total.add(constants[i] - weighted[i] * value)
            if prior[i] == 1 {
                product *= onePlus
                factors += 1
                if factors == Self.rowsPerProduct {
                    total.add(log(product))
                    product = 1
                    factors = 0
                }
            } else {
                total.add(prior[i] * log(onePlus))
            }
        }
        total.add(log(product))
        return 2 * total.value
    }

    private func logLink(eta: [Double], mu: UnsafeMutableBufferPointer<Double>, derivative: UnsafeMutableBufferPointer<Double>) -> Double {
        let family = self.family, y = self.y, prior = priorWeights, constants = self.constants, weighted = weightedResponses
        var total = CompensatedSum()
        for i in eta.indices {
            let value = eta[i]
            let m = exp(value)
            guard m >= Family.epsilon else {
                (mu[i], derivative[i]) = family.meanAndDerivative(value)
                total.add(family.devianceResidual(y: y[i], mu: mu[i], weight: prior[i]) / 2)
                continue
            }
            mu[i] = m
            derivative[i] = m
            total.add(constants[i] + prior[i] * m - weighted[i] * value)
        }
        return 2 * total.value
    }

    private static func yLogY(_ y: Double) -> Double { y > 0 ? y * log(y) : 0 }
}

/// Neumaier's compensated sum: the rounding of each addition is kept and added back at the end.
struct CompensatedSum {
    private var sum = 0.0
    private var compensation = 0.0

    mutating func add(_ x: Double) {
        let t = sum + x
        compensation += abs(sum) >= abs(x) ? (sum - t) + x : (x - t) + sum
        sum = t
    }

    var value: Double { sum + compensation }
}
