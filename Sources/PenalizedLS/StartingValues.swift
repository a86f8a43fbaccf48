import Linalg
import ModelSpec

/// Moment-based starting values for θ, so the optimizer starts near the optimum rather than at
/// lme4's T = I (docs/decisions.md): on InstEval, BOBYQA from T = I spends half its evaluations
/// walking the smallest term's θ down from 1.
///
/// Only designs whose terms are all scalar get them. With a vector term the whole start is
/// lme4's T = I: a moment start for the scalar terms beside a vector term at T = I is a start
/// no one has measured, and on nlme's Machines, `score ~ Machine + (Machine || Worker)` (an
/// intercept term and a full 3 x 3 term on one factor, so the REML surface has a ridge and a
/// second, boundary minimum), it sent BOBYQA into the local minimum with Worker.MachineA = 0,
/// REML criterion 211.7820, where the one-sided derivative along that θ is +0.24 (a genuine
/// local minimum, no restart rule would leave it); from T = I it reaches lme4's 208.3112.
enum StartingValues {
    /// θ with each scalar term's entry set to τ̂_j / σ̂ from the spread of that term's group means
    /// of the OLS residuals, refined by backfitting, when every term is scalar; lme4's T = I
    /// otherwise.
    static func theta(for design: Design) -> [Double] {
        var theta = design.thetaStart
        guard design.terms.allSatisfy({ $0.size == 1 }) else { return theta }
        let residuals = ordinaryLeastSquaresResiduals(design)
        let n = Double(residuals.count)
        let residualVariance = residuals.reduce(0) { $0 + $1 * $1 } / max(n - Double(design.fixedCount), 1)
        guard residualVariance > 0, residualVariance.isFinite else { return theta }
        for (term, offset) in zip(design.terms, design.thetaOffsets) {
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
        return refinedByBackfitting(theta, design: design, residuals: residuals, residualVariance: residualVariance)
    }

    /// BOBYQA's first steps from the backfitted start of an all-scalar design: a fraction of each
    /// θ, since that start is close (InstEval: θ within 1 % but for the smallest term); NLopt's
    /// default first step there spends a dozen evaluations far from it. Nil (NLopt's default)
    /// for designs with vector terms, whose start is lme4's T = I.
    static func initialStep(for design: Design, start: [Double]) -> [Double]? {
        guard design.terms.allSatisfy({ $0.size == 1 }) else { return nil }
        return start.map { max(0.1 * $0, 0.005) }
    }

    /// For scalar terms only (crossed and nested intercepts): a few EM-like backfitting sweeps
    /// from the moment start. Each term's effects are shrunk group means of the partial residuals,
    /// b_h = Σ z e / (Σ z² + σ²/τ²); τ² is updated to mean(b_h² + σ²/(Σ z² + σ²/τ²)) and σ² to
    /// (RSS + σ² Σ_j Σ_h Σz²/(Σz² + σ²/τ_j²)) / n, the EM updates with the conditional variances
    /// taken per level. β stays at OLS, so this is only a start: it puts θ close enough to the
    /// REML optimum that BOBYQA needs fewer evaluations (docs/benchmarks.md).
    private static func refinedByBackfitting(_ start: [Double], design: Design, residuals: [Double], residualVariance: Double) -> [Double] {
        let n = residuals.count
        let terms = design.terms
        var sigmaSquared = residualVariance
        var tauSquared = zip(start, terms).map { max($0.0 * $0.0, 0.05 * 0.05) * residualVariance }
        var effects = terms.map { [Double](repeating: 0, count: $0.levelCount) }
        var fitted = [Double](repeating: 0, count: n)   // Σ_j z_j b_j per observation
        let weights = terms.map { term -> [Double] in
            var w = [Double](repeating: 0, count: term.levelCount)
            for i in 0..<n { w[Int(term.groupCodes[i])] += term.modelRows[i, 0] * term.modelRows[i, 0] }
            return w
        }
        for _ in 0..<10 {
            var shrinkageSum = 0.0
            for (j, term) in terms.enumerated() {
                var sums = [Double](repeating: 0, count: term.levelCount)
                for i in 0..<n {
                    let h = Int(term.groupCodes[i])
                    let z = term.modelRows[i, 0]
                    sums[h] += z * (residuals[i] - fitted[i] + z * effects[j][h])
                }
                let ratio = sigmaSquared / tauSquared[j]
                var second = 0.0
                var newEffects = [Double](repeating: 0, count: term.levelCount)
                for h in 0..<term.levelCount {
                    let denominator = weights[j][h] + ratio
                    newEffects[h] = sums[h] / denominator
                    second += newEffects[h] * newEffects[h] + sigmaSquared / denominator
                    shrinkageSum += weights[j][h] / denominator
                }
                for i in 0..<n {
                    let h = Int(term.groupCodes[i])
                    fitted[i] += term.modelRows[i, 0] * (newEffects[h] - effects[j][h])
                }
                effects[j] = newEffects
                tauSquared[j] = max(second / Double(term.levelCount), 1e-12 * residualVariance)
            }
            var rss = 0.0
            for i in 0..<n { rss += (residuals[i] - fitted[i]) * (residuals[i] - fitted[i]) }
            sigmaSquared = (rss + sigmaSquared * shrinkageSum) / Double(n)
            guard sigmaSquared > 0, sigmaSquared.isFinite else { return start }
        }
        return tauSquared.map { max(($0 / sigmaSquared).squareRoot(), 0.05) }
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
