import Foundation
import CNumerics
import Linalg
import ModelSpec

/// The gradient of the Laplace deviance (77) over (θ, β) at PIRLS's conditional mode, in closed
/// form (docs/math.md, eq. 77a): what lets stage 2 take Newton steps instead of BOBYQA's
/// derivative-free ones (eq. 78a).
///
/// With A = ZΛ, M = AᵀWA + I = L Lᵀ (PIRLS's last factor), S = M⁻¹, h_i = a_iᵀ S a_i the
/// leverages of the rows, r_i = w_i′ h_i, s = S Aᵀr and e_i = d_i′ + r_i − w_i (As)_i:
/// ∂D/∂β = Xᵀe, and for the θ_k of scalar term k with model row z_k,
/// ∂D/∂θ_k = Σ_i z_ik (e_i u_{k,g(i)} + 2 w_i (S a_i)_{k,g(i)} − ½ d_i′ s_{k,g(i)}).
/// Only the entries of S where rows put their nonzeros are formed (a selected inverse): the dense
/// part's inverse by LAPACK, then each group's column on its pattern.
///
/// Holds for the canonical links only (logit, log), where the IRLS weights are the observed
/// information (d_i″ = 2w_i), so that ∂ũ/∂(θ, β) comes from the same M; and for scalar terms
/// only. `applies(to:)` says which designs; the others keep BOBYQA.
///
/// Reads, never writes, the design and PIRLS: one value serves every thread.
struct LaplaceGradient: Sendable {
    let design: Design
    /// Per row, for terms 1..<t: the dense row (coordinates of the random products' dense block)
    /// of its level, row-major n x (t − 1).
    private let densePositions: [Int32]
    /// Per row, for terms 1..<t: the index of that dense row in its first-term group's pattern,
    /// so that the group's column of S is read without a search.
    private let patternSlots: [Int32]

    /// Canonical link and every term scalar (a single intercept or slope per grouping factor).
    static func applies(to design: Design) -> Bool {
        let canonical = (design.family.kind == .binomial && design.family.link == .logit)
            || (design.family.kind == .poisson && design.family.link == .log)
        return canonical && design.terms.allSatisfy { $0.size == 1 }
    }

    init(design: Design, layout: BlockedLayout, termStarts: [Int]) {
        precondition(Self.applies(to: design))
        self.design = design
        let n = design.observationCount
        let others = design.terms.count - 1
        var positions = [Int32](repeating: 0, count: n * others)
        var slots = [Int32](repeating: 0, count: n * others)
        let firstCodes = design.terms[0].groupCodes
        for (index, term) in design.terms.dropFirst().enumerated() {
            let start = termStarts[index + 1]
            let codes = term.groupCodes
            for i in 0..<n {
                let position = Int32(start + Int(codes[i]))
                let g = Int(firstCodes[i])
                let pattern = layout.patternRows[layout.patternOffsets[g] ..< layout.patternOffsets[g + 1]]
                // The pattern is sorted and holds every dense row a row of group g touches.
                var low = pattern.startIndex, high = pattern.endIndex
                while low < high {
                    let middle = (low + high) / 2
                    if pattern[middle] < position { low = middle + 1 } else { high = middle }
                }
                precondition(low < pattern.endIndex && pattern[low] == position)
                positions[i * others + index] = position
                slots[i * others + index] = Int32(low - layout.patternOffsets[g])
            }
        }
        densePositions = positions
        patternSlots = slots
    }

    /// ∇D at PIRLS's state after `run(.betaFixed)`: θ's entries, then β's (eq. 77a).
    func gradient(of pirls: PIRLS) -> [Double] {
        let design = self.design
        let n = design.observationCount
        let terms = design.terms
        let t = terms.count, others = t - 1
        let layout = pirls.randomFactor.layout
        let q1 = layout.firstDimension
        let q2 = pirls.randomProducts.fixedStart
        let factor = pirls.randomFactor
        let theta = pirls.factors.map { $0[0] }

        // S₂₂ = C⁻ᵀC⁻¹ from the dense random block C of L.
        var s22 = [Double](repeating: 0, count: q2 * q2)
        if q2 > 0 {
            for c in 0..<q2 { for r in c..<q2 { s22[r + c * q2] = factor.dense[r, c] } }
            let info = s22.withUnsafeMutableBufferPointer {
                LAPACKE_dpotri_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(q2), $0.baseAddress!, Int32(q2))
            }
            precondition(info == 0, "the factor PIRLS left behind is singular")
            for c in 0..<q2 { for r in (c + 1)..<q2 { s22[c + r * q2] = s22[r + c * q2] } }
        }
        // Group g's column of S on its pattern P_g: S₂₁ = −S₂₂ B_g D_g⁻¹, and its diagonal entry
        // S₁₁ = D_g⁻² − (B_g D_g⁻¹)ᵀ S₂₁ (L = [D 0; B C]).
        var s21 = [Double](repeating: 0, count: layout.patternRows.count)
        var s11 = [Double](repeating: 0, count: layout.groupCount)
        var scaled = [Double](repeating: 0, count: q2)
        for g in 0..<layout.groupCount {
            let start = layout.patternOffsets[g], end = layout.patternOffsets[g + 1]
            let d = factor.diagonal[g]
            var used = start
            while used < end && Int(layout.patternRows[used]) < q2 { scaled[used - start] = factor.offDiagonal[used] / d; used += 1 }
            var quadratic = 0.0
            for a in start..<used {
                let row = Int(layout.patternRows[a])
                var s = 0.0
                for b in start..<used { s += s22[row + Int(layout.patternRows[b]) * q2] * scaled[b - start] }
                s21[a] = -s
                quadratic += scaled[a - start] * s
            }
            s11[g] = 1 / (d * d) + quadratic
        }

        // Per row: a_i = (θ_j z_ij)_j, v = S a_i on the row's positions, h_i = a_iᵀv; the
        // weights and the deviance's first derivative; Aᵀr summed into `rhs`.
        let logit = design.family.kind == .binomial
        let mu = pirls.mu, derivative = pirls.meanDerivative, y = pirls.y, prior = pirls.priorWeights
        let codes = terms.map(\.groupCodes), rows = terms.map(\.modelRows.storage)
        var v = [Double](repeating: 0, count: n * t)
        var w = [Double](repeating: 0, count: n)
        var slope = [Double](repeating: 0, count: n)   // d_i′
        var r = [Double](repeating: 0, count: n)
        var rhs = [Double](repeating: 0, count: q1 + q2)
        var a = [Double](repeating: 0, count: t)
        for i in 0..<n {
            let g = Int(codes[0][i])
            let start = layout.patternOffsets[g]
            for j in 0..<t { a[j] = theta[j] * rows[j][i] }
            var v0 = s11[g] * a[0]
            for j in 1..<t {
                let sj = s21[start + Int(patternSlots[i * others + j - 1])]
                v0 += sj * a[j]
                var vj = sj * a[0]
                let pj = Int(densePositions[i * others + j - 1])
                for l in 1..<t { vj += s22[pj + Int(densePositions[i * others + l - 1]) * q2] * a[l] }
                v[i * t + j] = vj
            }
            v[i * t] = v0
            var h = 0.0
            for j in 0..<t { h += a[j] * v[i * t + j] }
            let weight = prior[i] * (logit ? derivative[i] : mu[i])
            let weightSlope = logit ? weight * (1 - 2 * mu[i]) : weight
            w[i] = weight
            slope[i] = 2 * prior[i] * (mu[i] - y[i])
            let ri = weightSlope * h
            r[i] = ri
            rhs[g] += a[0] * ri
            for j in 1..<t { rhs[q1 + Int(densePositions[i * others + j - 1])] += a[j] * ri }
        }
        // s = M⁻¹ Aᵀr.
        factor.solveLower(&rhs, denseCount: q2)
        factor.solveTransposed(&rhs, denseCount: q2)
        let s = rhs, u = pirls.u

        var gradient = [Double](repeating: 0, count: t + design.fixedCount)
        var e = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let g = Int(codes[0][i])
            var projected = theta[0] * rows[0][i] * s[g]
            for j in 1..<t { projected += theta[j] * rows[j][i] * s[q1 + Int(densePositions[i * others + j - 1])] }
            let ei = slope[i] + r[i] - w[i] * projected
            e[i] = ei
            for k in 0..<t {
                let position = k == 0 ? g : q1 + Int(densePositions[i * others + k - 1])
                gradient[k] += rows[k][i] * (ei * u[position] + 2 * w[i] * v[i * t + k] - 0.5 * slope[i] * s[position])
            }
        }
        let x = design.fixed.matrix.storage
        for c in 0..<design.fixedCount {
            var sum = 0.0
            for i in 0..<n { sum += x[i + c * n] * e[i] }
            gradient[t + c] = sum
        }
        return gradient
    }
}
