import CVectorMath
import ModelSpec

/// The binomial logit likelihood's change over many rows with its exp and log1p four at a time
/// (`mixmc_exp`, `mixmc_log1p`: within a few ulp of libm's). Only for values a sampler compares
/// and never keeps: a Metropolis-Hastings ratio, a Newton step's check, a slice level
/// (docs/decisions.md, "Vector exp and log1p for what the samplers only compare").
enum LogisticRows {
    /// `bases[a]` = logistic(`eta[a]`) for a < n, as `Family.logistic` forms it from e^−|η|.
    static func logistic(_ eta: UnsafePointer<Double>, into bases: UnsafeMutablePointer<Double>, count n: Int) {
        for a in 0..<n { bases[a] = -abs(eta[a]) }
        mixmc_exp(bases, bases, n)
        for a in 0..<n {
            let e = bases[a]
            bases[a] = eta[a] >= 0 ? 1 / (1 + e) : e / (1 + e)
        }
    }

    /// Σ_a log p(y_i | η_a + d_a) − log p(y_i | η_a) over the rows (i = `rows[a]`), row a at
    /// `etas[a]` with logistic(η) `bases[a]`, change `changes[a]` and its `Family.changeFactor`
    /// `factors[a]`: `Family.logLikelihoodChange`'s formula, w y d − w log1p(μ expm1(d)) for
    /// |d| < 1, the rest row by row as there, added row by row to `total`. `scratch` holds a
    /// value per row.
    static func likelihoodChange(family: Family, response: [Double], priorWeights: [Double]?,
                                 rows: UnsafeBufferPointer<Int32>, etas: UnsafePointer<Double>, bases: UnsafePointer<Double>,
                                 changes: UnsafePointer<Double>, factors: UnsafePointer<Double>,
                                 scratch: UnsafeMutablePointer<Double>, addingTo total: Double = 0) -> Double {
        let n = rows.count
        for a in 0..<n { scratch[a] = abs(changes[a]) < 1 ? bases[a] * factors[a] : 0 }
        mixmc_log1p(scratch, scratch, n)
        var total = total
        for (a, row) in rows.enumerated() {
            let i = Int(row)
            let d = changes[a], weight = priorWeights?[i] ?? 1
            total += abs(d) < 1
                ? weight * response[i] * d - weight * scratch[a]
                : family.logLikelihoodChange(y: response[i], eta: etas[a], basis: bases[a], change: d, changeFactor: factors[a], weight: weight)
        }
        return total
    }
}
