import Foundation
import ModelSpec

extension GibbsSampler {
    /// σ and Σ₁ | β, b₋₁, y with b₁ integrated out (docs/math.md, eq. 63-66): one slice step on
    /// each coordinate of `FirstTermScaleTarget` (Σ₁'s only when σ is known). It leaves b₁ stale, so the sweep runs it just
    /// before the joint draw of (β, b), which replaces b₁ from its conditional given the new σ, Σ₁
    /// (a partially collapsed Gibbs step, van Dyk & Park 2008).
    mutating func updateFirstTermScales(random: RandomSource) {
        let products = design.crossProducts
        let term = design.terms[0]
        let k = term.size
        let w = denseCoefficients(beta: beta, randomEffects: randomEffects)
        // c_h = Z_hᵀ r = −(the first term's off-diagonal blocks) w, since w = [b₋₁; β; −1].
        var cross = firstTermOffDiagonalProducts(w)
        for i in cross.indices { cross[i] = -cross[i] }
        let residualSquares = denseQuadraticForm(w)
        var x = [log(sigma)] + (covarianceCoordinates[0] ?? [log(covarianceFactors[0][0])])
        let slice = self.slice
        let widths = firstTermSliceWidths
        let priors = self.priors
        let observationCount = design.observationCount
        products.diagonal.withUnsafeBufferPointer { gram in
            cross.withUnsafeBufferPointer { cross in
                let target = FirstTermScaleTarget(
                    order: k, levelCount: term.levelCount, observationCount: observationCount,
                    gram: gram.baseAddress!, cross: cross.baseAddress!, residualSquares: residualSquares,
                    sigmaScale: priors.sigmaScale, tauScales: priors.tauScales[0], eta: priors.lkjEta[0])
                withUnsafeTemporaryAllocation(of: Double.self, capacity: target.workspaceCount) { workspace in
                    let scratch = workspace.baseAddress!
                    target.prepare(scratch)
                    // With σ known, x[0] = log σ = 0 stays put: the conditional of Σ₁ given σ.
                    x.withUnsafeMutableBufferPointer { x in
                        slice.sweep(x, widths: widths, from: residualScaleIsKnown ? 1 : 0, random: random) {
                            target.logDensity($0, workspace: scratch)
                        }
                    }
                }
            }
        }
        if var adaptation = firstTermWidthAdaptation {
            adaptation.observe(x)
            firstTermSliceWidths = adaptation.widths
            firstTermWidthAdaptation = adaptation
        }
        sigma = exp(x[0])
        let coordinates = Array(x[1...])
        covarianceFactors[0] = CovarianceTarget.covarianceFactor(coordinates, order: k)
        if k > 1 { covarianceCoordinates[0] = coordinates }
    }

    /// Tunes the first-term step's slice widths over the warmup (`SliceWidthAdaptation`).
    public mutating func beginWarmup() {
        firstTermWidthAdaptation = SliceWidthAdaptation(widths: firstTermSliceWidths)
        if let widths = nestedIntercepts?.widths { nestedIntercepts?.adaptation = SliceWidthAdaptation(widths: widths) }
    }

    public mutating func endWarmup() {
        firstTermWidthAdaptation = nil
        nestedIntercepts?.adaptation = nil
    }

    /// B w per first-term coefficient (level-major, q₁ values), B the first term's off-diagonal
    /// blocks of the cross-products and w over the dense coordinates.
    func firstTermOffDiagonalProducts(_ w: [Double]) -> [Double] {
        let products = design.crossProducts
        let layout = products.layout
        let k1 = layout.groupSize
        var result = [Double](repeating: 0, count: layout.firstDimension)
        products.offDiagonal.withUnsafeBufferPointer { offDiagonal in
        layout.patternOffsets.withUnsafeBufferPointer { offsets in
        layout.patternRows.withUnsafeBufferPointer { rows in
        w.withUnsafeBufferPointer { w in
        result.withUnsafeMutableBufferPointer { result in
            let offDiagonal = offDiagonal.baseAddress!, offsets = offsets.baseAddress!
            let rows = rows.baseAddress!, w = w.baseAddress!, result = result.baseAddress!
            for g in 0..<layout.groupCount {
                let start = offsets[g]
                let count = offsets[g + 1] - start
                let groupRows = rows + start
                for c in 0..<k1 {
                    let column = offDiagonal + start * k1 + c * count
                    var s = 0.0
                    for a in 0..<count { s += column[a] * w[Int(groupRows[a])] }
                    result[g * k1 + c] = s
                }
            }
        } } } } }
        return result
    }
}
