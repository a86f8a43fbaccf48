import Linalg
import ModelSpec

extension GibbsSampler {
    /// A value of (β, b).
    public struct Coefficients: Sendable, Equatable {
        public var beta: [Double]
        /// Per term, level-major.
        public var randomEffects: [[Double]]
    }

    /// E[(β, b) | y, σ, Σ], the mean of the Gaussian full conditional (eq. 21), computed the
    /// same way as a draw with the noise set to zero.
    public mutating func conditionalMean() throws(GibbsError) -> Coefficients {
        let products = design.crossProducts
        return try solveCoefficients(noise: Array(repeating: 0, count: products.layout.firstDimension + products.responseIndex))
    }

    /// [u; β] = L⁻ᵀ (ℓ + σ z) and b = Λu (eq. 21), where L Lᵀ is the (u, β, ỹ) system of
    /// eq. 3 at Λ = blockdiag(T_j), T_j = chol(Σ_j) / σ, with the β prior added on the X block and
    /// ỹ row, and `noise` = z ~ N(0, I) in the factor's order (first term, dense random rows, β).
    mutating func solveCoefficients(noise: [Double]) throws(GibbsError) -> Coefficients {
        let products = design.crossProducts
        let layout = products.layout
        let k1 = layout.groupSize
        let q1 = layout.firstDimension
        let last = products.responseIndex
        let fixedStart = products.fixedStart
        precondition(noise.count == q1 + last)
        let sigma = self.sigma
        let relativeFactors = covarianceFactors.map { $0.map { $0 / sigma } }

        products.loadScaled(into: &factor, factors: relativeFactors)
        // β ~ N(m, diag(s²)) adds σ²/s² to XᵀX's diagonal, σ² m/s² to Xᵀỹ, and σ² Σ m²/s² to ỹᵀỹ,
        // which keeps the ỹ row a penalized sum of squares (its pivot stays real).
        let variance = sigma * sigma
        for i in 0..<design.fixedCount {
            let precision = 1 / (priors.fixedSDs[i] * priors.fixedSDs[i])
            let mean = priors.fixedMeans[i]
            factor.dense[fixedStart + i, fixedStart + i] += variance * precision
            factor.dense[last, fixedStart + i] += variance * mean * precision
            factor.dense[last, last] += variance * mean * mean * precision
        }
        do { try factor.factorize() } catch let failure { throw .coefficientSystemNotPositiveDefinite(failure.description) }

        // ℓ: L's ỹ row without its diagonal; ỹ's row is the last of every group's pattern.
        var solution = noise
        for i in solution.indices { solution[i] *= sigma }
        for g in 0..<layout.groupCount {
            let start = layout.patternOffsets[g]
            let count = layout.patternCount(g)
            for c in 0..<k1 { solution[g * k1 + c] += factor.offDiagonal[start * k1 + c * count + count - 1] }
        }
        for c in 0..<last { solution[q1 + c] += factor.dense[last, c] }
        factor.solveTransposed(&solution, denseCount: last)

        var randomEffects: [[Double]] = []
        for (j, term) in design.terms.enumerated() {
            let k = term.size
            let start = j == 0 ? 0 : q1 + products.termStarts[j]
            let t = relativeFactors[j]
            var b = [Double](repeating: 0, count: term.effectCount)
            for h in 0..<term.levelCount {
                let base = start + h * k
                for r in 0..<k {
                    var s = 0.0
                    for c in 0...r { s += t[r + c * k] * solution[base + c] }
                    b[h * k + r] = s
                }
            }
            randomEffects.append(b)
        }
        let beta = Array(solution[(q1 + fixedStart) ..< (q1 + last)])
        return Coefficients(beta: beta, randomEffects: randomEffects)
    }
}
