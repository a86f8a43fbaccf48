import Linalg
import ModelSpec

/// Moment-based starting values for θ, so the optimizer starts near the optimum rather than at
/// lme4's T = I (docs/decisions.md): on InstEval, BOBYQA from T = I spends half its evaluations
/// walking the smallest term's θ down from 1.
enum StartingValues {
    /// θ with each scalar term's entry set to τ̂_j / σ̂ from the spread of that term's group means
    /// of the OLS residuals; vector terms keep lme4's start (T = I).
    static func theta(for design: Design) -> [Double] {
        var theta = design.thetaStart
        let residuals = ordinaryLeastSquaresResiduals(design)
        let n = Double(residuals.count)
        let residualVariance = residuals.reduce(0) { $0 + $1 * $1 } / max(n - Double(design.fixedCount), 1)
        guard residualVariance > 0, residualVariance.isFinite else { return theta }
        for (term, offset) in zip(design.terms, design.thetaOffsets) where term.size == 1 {
            var sums = [Double](repeating: 0, count: term.levelCount)
            var counts = [Double](repeating: 0, count: term.levelCount)
            for i in 0..<residuals.count {
                let h = Int(term.groupCodes[i])
                let z = term.modelRows[i, 0]
                sums[h] += z * residuals[i]
                counts[h] += z * z
            }
            // Var(group mean) = τ² + σ²/n_h; subtract the sampling part on average.
            var spread = 0.0, noise = 0.0, used = 0.0
            for h in 0..<term.levelCount where counts[h] > 0 {
                let mean = sums[h] / counts[h]
                spread += mean * mean
                noise += 1 / counts[h]
                used += 1
            }
            guard used > 1 else { continue }
            let tauSquared = spread / used - residualVariance * noise / used
            // A start on the boundary would leave BOBYQA no room to move; start small instead.
            theta[offset] = max((max(tauSquared, 0) / residualVariance).squareRoot(), 0.05)
        }
        return theta
    }

    /// y − offset − Xβ̂ with β̂ the ordinary least-squares fit, solved from XᵀX by Cholesky.
    private static func ordinaryLeastSquaresResiduals(_ design: Design) -> [Double] {
        let products = design.crossProducts
        let p = design.fixedCount
        let start = products.fixedStart
        var gram = [Double](repeating: 0, count: p * p)
        var rhs = [Double](repeating: 0, count: p)
        for c in 0..<p {
            for r in 0..<p { gram[r + c * p] = products.dense[start + r, start + c] }
            rhs[c] = products.dense[products.responseIndex, start + c]
        }
        var beta = rhs
        let solved = gram.withUnsafeMutableBufferPointer { g in
            beta.withUnsafeMutableBufferPointer { b in
                p == 0 || SmallDense.choleskyLowerInPlace(g.baseAddress!, order: p) && {
                    SmallDense.solveLower(g.baseAddress!, order: p, b.baseAddress!)
                    SmallDense.solveLowerTransposed(g.baseAddress!, order: p, b.baseAddress!)
                    return true
                }()
            }
        }
        if !solved { beta = [Double](repeating: 0, count: p) }
        var residuals = zip(design.response, design.offset).map { $0 - $1 }
        for i in 0..<residuals.count {
            for c in 0..<p { residuals[i] -= design.fixed.matrix[i, c] * beta[c] }
        }
        return residuals
    }
}
