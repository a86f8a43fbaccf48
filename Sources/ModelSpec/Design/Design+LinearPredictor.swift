import Foundation

extension Design {
    /// η = offset + Xβ + Zb for every row, written into `eta` (n values); b per term, level-major.
    public func linearPredictor(beta: [Double], randomEffects: [[Double]], into eta: inout [Double]) {
        let n = observationCount
        precondition(eta.count == n && beta.count == fixedCount && randomEffects.count == terms.count)
        eta.withUnsafeMutableBufferPointer { eta in
            offset.withUnsafeBufferPointer { offset in
                for i in 0..<n { eta[i] = offset[i] }
            }
            fixed.matrix.storage.withUnsafeBufferPointer { x in
                for (c, value) in beta.enumerated() where value != 0 {
                    let column = x.baseAddress! + c * n
                    for i in 0..<n { eta[i] += value * column[i] }
                }
            }
            for (j, term) in terms.enumerated() {
                let k = term.size
                randomEffects[j].withUnsafeBufferPointer { b in
                term.groupCodes.withUnsafeBufferPointer { codes in
                term.modelRows.storage.withUnsafeBufferPointer { z in
                    for c in 0..<k {
                        let column = z.baseAddress! + c * n
                        for i in 0..<n { eta[i] += column[i] * b[Int(codes[i]) * k + c] }
                    }
                } } }
            }
        }
    }

    /// log p(y | η) of a binomial or Poisson model with the family's constants (eq. 71): binomial
    /// rows as proportions of `priorWeights` trials, Poisson counts with prior weights.
    public func logLikelihood(eta: [Double]) -> Double {
        precondition(!family.isGaussian && eta.count == observationCount)
        var total = 0.0
        for i in eta.indices {
            let weight = priorWeights?[i] ?? 1
            total += family.minusTwoLogLikelihood(y: response[i], mu: family.mean(eta[i]), weight: weight)
        }
        return -0.5 * total
    }

    /// What `logLikelihood(eta:)` reads of a binomial design's rows besides η, computed once for a
    /// sampler that evaluates the log-likelihood at every draw (`lp__`): each row's successes s,
    /// failures f and log C(n, s) (three lgamma calls a row otherwise).
    public struct BinomialRows: Sendable {
        let successes: [Double]
        let failures: [Double]
        let logCoefficients: [Double]
    }

    /// The rows' successes, failures and log binomial coefficients, as `minusTwoLogLikelihood`
    /// computes them (rows with no trials: 0 trials, left out of the sum).
    public func binomialRows() -> BinomialRows {
        precondition(family.kind == .binomial)
        var successes = [Double](repeating: 0, count: observationCount)
        var failures = successes, coefficients = successes
        for i in 0..<observationCount {
            let weight = priorWeights?[i] ?? 1
            guard weight > 0 else { continue }
            let s = (weight * response[i]).rounded(), trials = weight.rounded()
            successes[i] = s
            failures[i] = trials - s
            coefficients[i] = lgamma(trials + 1) - lgamma(s + 1) - lgamma(trials - s + 1)
        }
        return BinomialRows(successes: successes, failures: failures, logCoefficients: coefficients)
    }

    /// `logLikelihood(eta:)` of a binomial design from its `binomialRows()`: the same terms added
    /// in the same order, so the same bits.
    public func logLikelihood(eta: [Double], binomial rows: BinomialRows) -> Double {
        precondition(family.kind == .binomial && eta.count == observationCount)
        var total = 0.0
        for i in eta.indices {
            guard (priorWeights?[i] ?? 1) > 0 else { total += 0; continue }
            let mu = family.mean(eta[i])
            let successes = rows.successes[i], failures = rows.failures[i]
            var value = rows.logCoefficients[i]
            if successes > 0 { value += successes * Foundation.log(mu) }
            if failures > 0 { value += failures * Foundation.log(1 - mu) }
            total += -2 * value
        }
        return -0.5 * total
    }
}
