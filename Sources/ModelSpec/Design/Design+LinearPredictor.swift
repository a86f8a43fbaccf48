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
}
