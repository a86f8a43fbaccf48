import Foundation
import CNumerics
import Linalg
import ModelSpec

/// Everything that follows from the factor L(θ) at a given θ: β̂, û and b̂ = Λû, σ̂, the
/// standard errors of β̂, the variance components, and the conditional SDs of b
/// (docs/math.md, eq. 8-11).
struct PenalizedSolution {
    let beta: [Double]
    let betaStandardErrors: [Double]
    let sigma: Double
    let varianceComponents: [MixedModelFit.VarianceComponent]
    let randomEffects: [MixedModelFit.RandomEffects]
    /// σ² (L_X L_Xᵀ)⁻¹, row-major p x p.
    let fixedEffectsCovariance: [[Double]]
    /// (y − offset − Xβ̂ − Zb̂) / σ̂ for each observation.
    let scaledResiduals: [Double]

    init(objective: ProfiledObjective, theta: [Double]) throws {
        let design = objective.design
        let products = design.crossProducts
        let factor = objective.factor
        let layout = products.layout
        let q1 = layout.firstDimension
        let p = design.fixedCount
        let fixedStart = products.fixedStart
        let last = products.responseIndex
        let n = Double(design.observationCount)

        // [û; β̂] = L⁻ᵀ ℓ_y, where ℓ_y is L's y row without its diagonal (eq. 8).
        var solution = factor.lastRow(denseCount: last)
        factor.solveTransposed(&solution, denseCount: last)
        let beta = Array(solution[(q1 + fixedStart)...])
        let pwrss = objective.penalizedResidualSumOfSquares(factor)
        let sigma = (pwrss / (objective.method == .reml ? n - Double(p) : n)).squareRoot()

        // Var(β̂) = σ² (L_X L_Xᵀ)⁻¹ with L_X the X block of the factor (eq. 9).
        var lx = [Double](repeating: 0, count: p * p)
        for c in 0..<p { for r in c..<p { lx[r + c * p] = factor.dense[fixedStart + r, fixedStart + c] } }
        if p > 0 {
            let info = lx.withUnsafeMutableBufferPointer {
                LAPACKE_dpotri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(p), $0.baseAddress!, Int32(p))
            }
            guard info == 0 else { throw FitError.rankDeficientFixedEffects(names: design.fixed.columnNames) }
        }
        betaStandardErrors = (0..<p).map { sigma * lx[$0 + $0 * p].squareRoot() }
        fixedEffectsCovariance = (0..<p).map { r in (0..<p).map { c in sigma * sigma * lx[max(r, c) + min(r, c) * p] } }
        self.beta = beta
        self.sigma = sigma

        let factors = design.relativeCovarianceFactors(theta: theta)
        varianceComponents = Self.varianceComponents(terms: design.terms, factors: factors, sigma: sigma)
        let effects = Self.randomEffects(design: design, products: products, factor: factor, solution: solution, factors: factors, scale: sigma)
        randomEffects = effects

        var residuals = zip(design.response, design.offset).map { $0 - $1 }
        for i in 0..<residuals.count {
            var fitted = 0.0
            for c in 0..<p { fitted += design.fixed.matrix[i, c] * beta[c] }
            for (j, term) in design.terms.enumerated() {
                let b = effects[j].modes[Int(term.groupCodes[i])]
                for c in 0..<term.size { fitted += term.modelRows[i, c] * b[c] }
            }
            // Pearson residuals: √w_i (y_i − ŷ_i) / σ̂ (lme4's scaled residuals with weights).
            residuals[i] = (residuals[i] - fitted) / sigma
            if let weights = design.priorWeights { residuals[i] *= weights[i].squareRoot() }
        }
        scaledResiduals = residuals
    }

    /// Conditional modes b̂ = T û per term and level, and their conditional SDs
    /// scale · √diag(T V_h Tᵀ), V_h the (h, h) block of (L_θ L_θᵀ)⁻¹ (eq. 11); `solution` holds û
    /// in the factor's order (first term, then the dense random rows).
    static func randomEffects(design: Design, products: CrossProducts, factor: BlockedCholesky, solution: [Double],
                              factors: [[Double]], scale sigma: Double) -> [MixedModelFit.RandomEffects] {
        let q1 = products.layout.firstDimension
        let conditionalVariances = Self.conditionalVariancesOfU(factor: factor, products: products, terms: design.terms)
        var effects: [MixedModelFit.RandomEffects] = []
        var uStart = 0   // position of term j's û in `solution` order: first term, then the dense random rows
        for (j, term) in design.terms.enumerated() {
            let k = term.size
            let t = factors[j]
            uStart = j == 0 ? 0 : q1 + products.termStarts[j]
            var modes: [[Double]] = []
            var sds: [[Double]] = []
            for h in 0..<term.levelCount {
                let u = Array(solution[(uStart + h * k) ..< (uStart + (h + 1) * k)])
                modes.append(Self.lowerTimes(t, u, order: k))
                // Var(b_h | y) = σ² T V_h Tᵀ with V_h the (h, h) block of (L_θ L_θᵀ)⁻¹ (eq. 11).
                let v = conditionalVariances[j][h]
                sds.append((0..<k).map { r in
                    var s = 0.0
                    for a in 0...r { for b in 0...r { s += t[r + a * k] * v[a + b * k] * t[r + b * k] } }
                    return sigma * max(s, 0).squareRoot()
                })
            }
            effects.append(.init(group: term.groupingName, coefficientNames: term.coefficientNames, levels: term.levels,
                                 modes: modes, conditionalStandardDeviations: sds))
        }
        return effects
    }

    static func lowerTimes(_ t: [Double], _ u: [Double], order k: Int) -> [Double] {
        (0..<k).map { r in (0...r).reduce(0.0) { $0 + t[r + $1 * k] * u[$1] } }
    }

    /// Every term's covariance σ² T Tᵀ, named as lme4's `VarCorr` names them (`Subject.1`).
    static func varianceComponents(terms: [RandomEffectsTerm], factors: [[Double]], sigma: Double) -> [MixedModelFit.VarianceComponent] {
        let labels = RandomEffectsTerm.varianceComponentLabels(terms)
        return terms.indices.map { varianceComponent(term: terms[$0], label: labels[$0], factor: factors[$0], sigma: sigma) }
    }

    static func varianceComponent(term: RandomEffectsTerm, label: String, factor t: [Double], sigma: Double) -> MixedModelFit.VarianceComponent {
        let k = term.size
        var covariance = [[Double]](repeating: [Double](repeating: 0, count: k), count: k)
        for r in 0..<k { for c in 0..<k {
            var s = 0.0
            for a in 0...min(r, c) { s += t[r + a * k] * t[c + a * k] }
            covariance[r][c] = sigma * sigma * s
        } }
        let sds = (0..<k).map { covariance[$0][$0].squareRoot() }
        let correlations = (0..<k).map { r in (0..<k).map { c in
            r == c ? 1.0 : (sds[r] > 0 && sds[c] > 0 ? covariance[r][c] / (sds[r] * sds[c]) : .nan)
        } }
        return .init(group: label, names: term.coefficientNames, standardDeviations: sds, correlations: correlations)
    }

    /// For each term and level, the k x k diagonal block of (L_θ L_θᵀ)⁻¹ (column-major), where
    /// L_θ is the random-effects part of the factor. With L_θ = [L₁ 0; B D], the columns of L_θ⁻¹
    /// are [L₁⁻¹; −D⁻¹ B L₁⁻¹] for the first term and [0; D⁻¹] for the others (eq. 11).
    static func conditionalVariancesOfU(factor: BlockedCholesky, products: CrossProducts, terms: [RandomEffectsTerm]) -> [[[Double]]] {
        let layout = products.layout
        let k1 = layout.groupSize
        let qr = products.fixedStart
        var dInverse = [Double](repeating: 0, count: qr * qr)
        for c in 0..<qr { for r in c..<qr { dInverse[r + c * qr] = factor.dense[r, c] } }
        if qr > 0 {
            _ = dInverse.withUnsafeMutableBufferPointer {
                LAPACKE_dtrtri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int8(UInt8(ascii: "N")), Int32(qr), $0.baseAddress!, Int32(qr))
            }
        }
        var result: [[[Double]]] = []
        var first: [[Double]] = []
        for g in 0..<layout.groupCount {
            // L₁⁻¹ of this group, column-major lower.
            var inverse = [Double](repeating: 0, count: k1 * k1)
            for c in 0..<k1 {
                var e = [Double](repeating: 0, count: k1)
                e[c] = 1
                factor.diagonal.withUnsafeBufferPointer { d in
                    e.withUnsafeMutableBufferPointer { SmallDense.solveLower(d.baseAddress! + g * k1 * k1, order: k1, $0.baseAddress!) }
                }
                for r in 0..<k1 { inverse[r + c * k1] = e[r] }
            }
            var v = [Double](repeating: 0, count: k1 * k1)
            for a in 0..<k1 { for b in 0..<k1 {
                var s = 0.0
                for r in 0..<k1 { s += inverse[r + a * k1] * inverse[r + b * k1] }
                v[a + b * k1] = s
            } }
            if qr > 0 {
                // W = D⁻¹ B L₁⁻¹ over the random rows of this group's pattern.
                let start = layout.patternOffsets[g]
                let count = layout.patternCount(g)
                var bl = [Double](repeating: 0, count: count * k1)   // B L₁⁻¹, rows of the pattern
                for c in 0..<k1 { for a in 0..<count {
                    var s = 0.0
                    for r in c..<k1 { s += factor.offDiagonal[start * k1 + r * count + a] * inverse[r + c * k1] }
                    bl[a + c * count] = s
                } }
                var w = [Double](repeating: 0, count: qr * k1)
                for a in 0..<count {
                    let row = Int(layout.patternRows[start + a])
                    if row >= qr { break }
                    for c in 0..<k1 {
                        let coefficient = bl[a + c * count]
                        if coefficient == 0 { continue }
                        for i in row..<qr { w[i + c * qr] += dInverse[i + row * qr] * coefficient }
                    }
                }
                for a in 0..<k1 { for b in 0..<k1 {
                    var s = 0.0
                    for i in 0..<qr { s += w[i + a * qr] * w[i + b * qr] }
                    v[a + b * k1] += s
                } }
            }
            first.append(v)
        }
        result.append(first)
        for (j, term) in terms.enumerated().dropFirst() {
            let k = term.size
            var blocks: [[Double]] = []
            for h in 0..<term.levelCount {
                let start = products.termStarts[j] + h * k
                var v = [Double](repeating: 0, count: k * k)
                for a in 0..<k { for b in 0..<k {
                    var s = 0.0
                    for i in (start + max(a, b))..<qr { s += dInverse[i + (start + a) * qr] * dInverse[i + (start + b) * qr] }
                    v[a + b * k] = s
                } }
                blocks.append(v)
            }
            result.append(blocks)
        }
        return result
    }
}
