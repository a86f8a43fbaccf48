import Foundation
import ModelSpec

/// The first term nested in another, both scalar intercepts ((1 | a/b): b's levels each inside one
/// level of a): the pair whose SDs `updateNestedScales` draws with both terms' coefficients
/// integrated out.
struct NestedIntercepts {
    /// The coarse term (a), whose level holds each first-term (fine) level: `parent[h]`.
    let coarseTerm: Int
    let parent: [Int32]
    /// Initial slice widths of (log σ, log τ_fine, log τ_coarse), tuned over the warmup.
    var widths: [Double] = [1, 1, 1]
    var adaptation: SliceWidthAdaptation?

    /// The pair in `design`, if its first term is an intercept nested in another term's intercept.
    init?(_ design: Design) {
        guard let fine = design.terms.first, fine.isIntercept else { return nil }
        for (j, coarse) in design.terms.enumerated().dropFirst() where coarse.isIntercept && coarse.levelCount < fine.levelCount {
            if let parent = fine.parentLevels(in: coarse) {
                coarseTerm = j
                self.parent = parent
                return
            }
        }
        return nil
    }
}

extension GibbsSampler {
    /// Turns on the nested-scales step (docs/math.md, eq. 115) in place of the first term's
    /// (eq. 63-66) when the first term is an intercept nested in another term's intercept;
    /// returns whether it is on. Off by default: it changes the draws of the models it applies to.
    public mutating func marginalizeNestedScales() -> Bool {
        nestedIntercepts = NestedIntercepts(design)
        return nestedIntercepts != nil
    }

    /// σ, τ_fine and τ_coarse | β, the other terms' b, y with both nested terms' coefficients
    /// integrated out (eq. 115): one slice step on each of their logs (σ's only when it is not
    /// known). Per fine level h with weight n_h = Σ w_i and weighted residual sum s_h (r = ỹ − Xβ −
    /// the other terms' Zb), its mean r̄_h = s_h / n_h is N(b_coarse + b_fine, σ²/n_h) and the
    /// rest of the residual sum of squares W is σ² χ² free of b; integrating b_fine then
    /// b_coarse level by level costs O(fine levels) per evaluation. Like the first-term step it
    /// leaves b stale, so it runs just before the joint draw of (β, b).
    mutating func updateNestedScales(_ nested: NestedIntercepts, random: RandomSource) {
        let coarse = nested.coarseTerm
        var effects = randomEffects
        effects[coarse] = effects[coarse].map { _ in 0 }
        let w = denseCoefficients(beta: beta, randomEffects: effects)
        var target = NestedScaleTarget(
            sums: firstTermOffDiagonalProducts(w).map { -$0 }, weights: design.crossProducts.diagonal,
            residualSquares: denseQuadraticForm(w), observationCount: design.observationCount,
            parent: nested.parent, coarseLevels: design.terms[coarse].levelCount,
            scales: [priors.sigmaScale, priors.tauScales[0][0], priors.tauScales[coarse][0]], sigmaIsKnown: residualScaleIsKnown)
        var x = [log(sigma), log(covarianceFactors[0][0]), log(covarianceFactors[coarse][0])]
        let slice = self.slice
        x.withUnsafeMutableBufferPointer { x in
            slice.sweep(x, widths: nested.widths, from: residualScaleIsKnown ? 1 : 0, random: random) { target.logDensity($0) }
        }
        var updated = nested
        if var adaptation = updated.adaptation {
            adaptation.observe(x)
            updated.widths = adaptation.widths
            updated.adaptation = adaptation
        }
        nestedIntercepts = updated
        if !residualScaleIsKnown { sigma = exp(x[0]) }
        covarianceFactors[0] = [exp(x[1])]
        covarianceFactors[coarse] = [exp(x[2])]
    }
}

/// The log density of (log σ, log τ_fine, log τ_coarse) given the residuals r with both nested
/// terms' coefficients integrated out, up to a constant (docs/math.md, eq. 115), from per fine
/// level weights n_h and sums s_h, the weighted residual sum of squares, and each fine level's
/// coarse level; half-Cauchy priors with the logs' Jacobians (σ's left out when σ is known).
public struct NestedScaleTarget {
    let sums: [Double]
    let weights: [Double]
    let within: Double
    let sigmaPower: Double
    let parent: [Int32]
    let scales: [Double]
    let sigmaIsKnown: Bool
    /// v_h and log v_h depend on h only through n_h: once per distinct weight (a few group sizes
    /// under unit weights) rather than once per level.
    let distinctWeights: [Double]
    let weightIndex: [Int]
    private var inverseV: [Double]
    private var logV: [Double]
    private var precision: [Double]
    private var linear: [Double]

    public init(sums: [Double], weights: [Double], residualSquares: Double, observationCount: Int, parent: [Int32],
                coarseLevels: Int, scales: [Double], sigmaIsKnown: Bool) {
        precondition(sums.count == weights.count && parent.count == sums.count && scales.count == 3)
        var between = 0.0
        for h in sums.indices where weights[h] > 0 { between += sums[h] * sums[h] / weights[h] }
        within = max(residualSquares - between, 0)
        sigmaPower = Double(observationCount - weights.filter { $0 > 0 }.count)
        self.sums = sums
        self.weights = weights
        self.parent = parent
        self.scales = scales
        self.sigmaIsKnown = sigmaIsKnown
        distinctWeights = Array(Set(weights.filter { $0 > 0 })).sorted()
        let positionOf = Dictionary(uniqueKeysWithValues: distinctWeights.enumerated().map { ($1, $0) })
        weightIndex = weights.map { $0 > 0 ? positionOf[$0]! : -1 }
        inverseV = Array(repeating: 0, count: distinctWeights.count)
        logV = inverseV
        precision = Array(repeating: 0, count: coarseLevels)
        linear = precision
    }

    /// At x = (log σ, log τ_fine, log τ_coarse); −∞ where a scale is 0 or not finite.
    public mutating func logDensity(_ x: UnsafePointer<Double>) -> Double {
        var value = 0.0
        for c in (sigmaIsKnown ? 1 : 0)..<3 {
            let t = exp(x[c])
            guard t.isFinite, t > 0 else { return -.infinity }
            let ratio = t / scales[c]
            value += x[c] - log1p(ratio * ratio)
        }
        let variance = exp(2 * x[0]), fineVariance = exp(2 * x[1]), coarseVariance = exp(2 * x[2])
        value -= sigmaPower * x[0] + 0.5 * within / variance
        for l in precision.indices { precision[l] = 1 / coarseVariance; linear[l] = 0 }
        for d in distinctWeights.indices {
            let v = fineVariance + variance / distinctWeights[d]
            inverseV[d] = 1 / v
            logV[d] = log(v)
        }
        for h in sums.indices where weightIndex[h] >= 0 {
            let d = weightIndex[h]
            let mean = sums[h] / weights[h]
            value -= 0.5 * (logV[d] + mean * mean * inverseV[d])
            let l = Int(parent[h])
            precision[l] += inverseV[d]
            linear[l] += mean * inverseV[d]
        }
        for l in precision.indices {
            value += 0.5 * linear[l] * linear[l] / precision[l] - 0.5 * log(coarseVariance * precision[l])
        }
        return value
    }
}
