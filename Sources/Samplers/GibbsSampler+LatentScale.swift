import Foundation

extension GibbsSampler {
    /// The scale move of marginal augmentation for latent utilities of unit variance (docs/math.md,
    /// eq. 111; Liu & Wu 1999, JASA 94:1264; van Dyk & Meng 2001, JCGS 10:1): the utilities u, β,
    /// every b and every SD τ are scaled jointly by g, with log g drawn by a slice step under
    ///
    ///   (N + p + K) log g − g² S/2 + Σ_c log p(g β_c) + Σ_k log half-Cauchy(g τ_k),
    ///
    /// N the number of utilities, p of β's, K of SDs, S = Σ (u − η)² their sum of squares about η.
    /// The utilities are not kept (the next sweep redraws them given η), so only β, b and Σ move.
    /// `withinRowSquares` is S's part free of η (eq. 103); the rest, Σ_i n_i (ū_i − η_i)², is the
    /// residual sum of squares of the refilled cross-products. Needs σ ≡ 1 and no offset (an offset
    /// does not scale with g, so the truncation points would move).
    mutating func expandLatentScale(latentCount: Double, withinRowSquares: Double, random: RandomSource) {
        precondition(residualScaleIsKnown, "the scale move is for utilities of unit variance")
        let squares = residualSumOfSquares(beta: beta, randomEffects: randomEffects) + withinRowSquares
        let (taus, tauScales) = everyScale()
        let beta = self.beta
        let means = priors.fixedMeans, sds = priors.fixedSDs
        let power = latentCount + Double(beta.count + taus.count)
        var x = [0.0]
        let slice = self.slice
        x.withUnsafeMutableBufferPointer { x in
            slice.sweep(x, random: random) { x -> Double in
                let logScale = x[0]
                let scale = exp(logScale)
                guard scale.isFinite, scale > 0 else { return -.infinity }
                var value = power * logScale - 0.5 * scale * scale * squares
                for c in 0..<beta.count where sds[c].isFinite {
                    let z = (scale * beta[c] - means[c]) / sds[c]
                    value -= 0.5 * z * z
                }
                for k in 0..<taus.count {
                    let t = scale * taus[k] / tauScales[k]
                    value -= log1p(t * t)
                }
                return value
            }
        }
        scaleAll(by: exp(x[0]), logRatio: x[0], includingFixedEffects: true)
    }

    /// Every SD τ of every term, with its half-Cauchy scale, term by term.
    func everyScale() -> (taus: [Double], scales: [Double]) {
        var taus: [Double] = []
        var scales: [Double] = []
        for (j, term) in design.terms.enumerated() {
            for c in 0..<term.size {
                taus.append(Self.rowNorm(covarianceFactors[j], row: c, order: term.size))
                scales.append(priors.tauScales[j][c])
            }
        }
        return (taus, scales)
    }

    /// Every b and every Σ_j's factor (so every τ) scaled by `ratio`, with the vector terms' log τ
    /// coordinates moved by `logRatio`; σ untouched, β scaled only when `includingFixedEffects`.
    mutating func scaleAll(by ratio: Double, logRatio: Double, includingFixedEffects: Bool) {
        if includingFixedEffects { beta = beta.map { $0 * ratio } }
        for j in design.terms.indices {
            randomEffects[j] = randomEffects[j].map { $0 * ratio }
            covarianceFactors[j] = covarianceFactors[j].map { $0 * ratio }
            if var coordinates = covarianceCoordinates[j] {
                for c in 0..<design.terms[j].size { coordinates[c] += logRatio }
                covarianceCoordinates[j] = coordinates
            }
        }
    }
}
