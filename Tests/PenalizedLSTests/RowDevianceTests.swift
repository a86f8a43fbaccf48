import Foundation
import Testing
import ModelSpec
@testable import PenalizedLS

/// `RowDeviance` writes the canonical links' deviance residuals in η (and binary rows' logs as
/// logs of products); R's `dev.resids` in μ (`Family.devianceResidual`, eq. 72) is the reference
/// where it is accurate (|η| ≤ 8) and on rows past the clamps (|η| > 30, μ below ε), with
/// proportions, trials and zero counts. Between, R's 1 − μ cancels: log1p(e^η) is the reference.
@Suite struct RowDevianceTests {
    /// Deterministic rows: η spread over [−40, 40], responses of every kind the family takes.
    static func rows(_ family: Family, count: Int) -> (eta: [Double], y: [Double], weights: [Double]) {
        var eta: [Double] = [], y: [Double] = [], weights: [Double] = []
        for i in 0..<count {
            // A third below −31, a third in [−8, 8], a third above 31.
            let fraction = Double(i % (count / 3)) / Double(count / 3)
            eta.append([-40 + 9 * fraction, -8 + 16 * fraction, 31 + 9 * fraction][i / (count / 3) % 3])
            switch family.kind {
            case .binomial:
                // Binary rows (one trial) mostly, some with 7 trials and a proportion.
                let trials = i % 5 == 0 ? 7.0 : 1.0
                weights.append(trials)
                y.append(trials == 1 ? Double(i % 2) : Double(i % 8) / 7)
            case .poisson:
                weights.append(i % 3 == 0 ? 2 : 1)
                y.append(Double(i % 6))
            case .gaussian:
                weights.append(1)
                y.append(0)
            }
        }
        return (eta, y, weights)
    }

    @Test(arguments: [(Family.Kind.binomial, Link.logit), (.binomial, .probit), (.binomial, .cloglog), (.poisson, .log)])
    func matchesRsDevianceResidualsInMu(kind: Family.Kind, link: Link) throws {
        let family = try Family(kind, link: link)
        let (eta, y, weights) = Self.rows(family, count: 999)
        let deviance = RowDeviance(family: family, y: y, priorWeights: weights)
        var mu = [Double](repeating: 0, count: eta.count), derivative = mu
        let total = deviance.evaluate(eta: eta, mu: &mu, derivative: &derivative)
        var reference = 0.0
        for i in eta.indices {
            let (m, d) = family.meanAndDerivative(eta[i])
            #expect(mu[i] == m && derivative[i] == d, "row \(i): μ and dμ/dη are the family's")
            reference += family.devianceResidual(y: y[i], mu: m, weight: weights[i])
        }
        #expect(abs(total - reference) <= 1e-12 * reference, "\(family): \(total) against \(reference)")
    }

    /// Binary failures with η in [8, 30]: d = 2 log(1 + e^η), which R's (1 − y) log((1 − y)/(1 − μ))
    /// loses to cancellation in 1 − μ (its relative error 1.7e-4 at η = 30, 5.5e-6 in d); the η form
    /// keeps it.
    @Test func binaryRowsKeepTheirPrecisionWhereOneMinusMuCancels() throws {
        let family = try Family(.binomial, link: .logit)
        let eta = (0...220).map { 8 + Double($0) / 10 }
        let y = [Double](repeating: 0, count: eta.count), weights = [Double](repeating: 1, count: eta.count)
        var mu = y, derivative = y
        let total = RowDeviance(family: family, y: y, priorWeights: weights).evaluate(eta: eta, mu: &mu, derivative: &derivative)
        let exact = eta.reduce(0) { $0 + 2 * log1p(exp($1)) }
        #expect(abs(total - exact) <= 1e-14 * exact, "\(total) against \(exact)")
    }
}
