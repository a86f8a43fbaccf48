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
    /// Per row, each term's position in u (the first term's group, then q₁ + the dense row of
    /// the other terms' levels), row-major n x t.
    private let positions: [Int32]
    /// Per row, for terms 1..<t: where that dense row sits in the row's first-term group's
    /// pattern (an index into the off-diagonal storage), row-major n x (t − 1), so that the
    /// group's column of S is read without a search.
    private let patternIndices: [Int32]
    /// Per row, each term's model-row value z_ij (1 for an intercept), row-major n x t.
    private let modelValues: [Double]

    /// Canonical link and every term scalar (a single intercept or slope per grouping factor).
    static func applies(to design: Design) -> Bool {
        let canonical = (design.family.kind == .binomial && design.family.link == .logit)
            || (design.family.kind == .poisson && design.family.link == .log)
        return canonical && design.terms.allSatisfy { $0.size == 1 }
    }

    init(design: Design, layout: BlockedLayout, termStarts: [Int]) {
        precondition(Self.applies(to: design) && layout.groupSize == 1)
        self.design = design
        let n = design.observationCount
        let t = design.terms.count, others = t - 1
        let q1 = layout.firstDimension
        var positions = [Int32](repeating: 0, count: n * t)
        // At least one entry: the gradient's loops read base addresses, which an empty array need not have.
        var indices = [Int32](repeating: 0, count: max(n * others, 1))
        var values = [Double](repeating: 0, count: n * t)
        let firstCodes = design.terms[0].groupCodes
        for (j, term) in design.terms.enumerated() {
            let codes = term.groupCodes, rows = term.modelRows.storage
            for i in 0..<n {
                values[i * t + j] = rows[i]
                guard j > 0 else { positions[i * t] = codes[i]; continue }
                let dense = Int32(termStarts[j] + Int(codes[i]))
                positions[i * t + j] = Int32(q1) + dense
                // The pattern is sorted and holds every dense row a row of group g touches.
                let g = Int(firstCodes[i])
                var low = layout.patternOffsets[g], high = layout.patternOffsets[g + 1]
                while low < high {
                    let middle = (low + high) / 2
                    if layout.patternRows[middle] < dense { low = middle + 1 } else { high = middle }
                }
                precondition(low < layout.patternOffsets[g + 1] && layout.patternRows[low] == dense)
                indices[i * others + j - 1] = Int32(low)
            }
        }
        self.positions = positions
        patternIndices = indices
        modelValues = values
    }

    /// ∇D at PIRLS's state after `run(.betaFixed)`: θ's entries, then β's (eq. 77a).
    func gradient(of pirls: PIRLS) -> [Double] {
        let n = design.observationCount
        let t = design.terms.count, others = t - 1
        let p = design.fixedCount
        let factor = pirls.randomFactor
        let layout = factor.layout
        let q1 = layout.firstDimension
        let q2 = pirls.randomProducts.fixedStart
        let theta = pirls.factors.map { $0[0] }
        let (s11, s21, s22) = selectedInverse(factor, q2: q2)

        // Per row: a_i = (θ_j z_ij)_j, v = S a_i on the row's positions, h_i = a_iᵀv; the IRLS
        // weight w_i, its derivative in η and the deviance's d_i′; Aᵀr summed into `rhs`.
        let logit = design.family.kind == .binomial
        var v = [Double](repeating: 0, count: n * t)
        var w = [Double](repeating: 0, count: n)
        var slope = [Double](repeating: 0, count: n)   // d_i′ = 2a_i(μ_i − y_i)
        var r = [Double](repeating: 0, count: n)
        var rhs = [Double](repeating: 0, count: q1 + q2)
        // Plain pointers in the loops over rows: array accesses there cost a bounds or uniqueness
        // check each.
        let mu = pirls.mu, derivative = pirls.meanDerivative, y = pirls.y, prior = pirls.priorWeights
        withPointers(positions, patternIndices, modelValues, s11, s21, s22, theta) { positions, indices, z, s11, s21, s22, theta in
        withPointers(mu, derivative, y, prior) { mu, derivative, y, prior in
        withMutablePointers(&v, &w, &slope, &r, &rhs) { v, w, slope, r, rhs in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: t) { a in
                for i in 0..<n {
                    let row = i * t
                    let g = Int(positions[row])
                    for j in 0..<t { a[j] = theta[j] * z[row + j] }
                    var v0 = s11[g] * a[0]
                    for j in 1..<t {
                        let sj = s21[Int(indices[i * others + j - 1])]
                        v0 += sj * a[j]
                        var vj = sj * a[0]
                        let pj = Int(positions[row + j]) - q1
                        for l in 1..<t { vj += s22[pj + (Int(positions[row + l]) - q1) * q2] * a[l] }
                        v[row + j] = vj
                    }
                    v[row] = v0
                    var h = 0.0
                    for j in 0..<t { h += a[j] * v[row + j] }
                    let weight = prior[i] * (logit ? derivative[i] : mu[i])
                    let weightSlope = logit ? weight * (1 - 2 * mu[i]) : weight
                    w[i] = weight
                    slope[i] = 2 * prior[i] * (mu[i] - y[i])
                    let ri = weightSlope * h
                    r[i] = ri
                    for j in 0..<t { rhs[Int(positions[row + j])] += a[j] * ri }
                }
            }
        } } }
        // s = M⁻¹ Aᵀr.
        factor.solveLower(&rhs, denseCount: q2)
        factor.solveTransposed(&rhs, denseCount: q2)

        var gradient = [Double](repeating: 0, count: t + p)
        var e = [Double](repeating: 0, count: n)
        withPointers(positions, modelValues, theta, rhs, pirls.u, w, slope, r) { positions, z, theta, s, u, w, slope, r in
        withMutablePointers(&e, &gradient) { e, gradient in
            for i in 0..<n {
                let row = i * t
                var projected = 0.0
                for j in 0..<t { projected += theta[j] * z[row + j] * s[Int(positions[row + j])] }
                let ei = slope[i] + r[i] - w[i] * projected
                e[i] = ei
                for k in 0..<t {
                    let position = Int(positions[row + k])
                    gradient[k] += z[row + k] * (ei * u[position] + 2 * w[i] * v[row + k] - 0.5 * slope[i] * s[position])
                }
            }
            let x = design.fixed.matrix.storage
            x.withUnsafeBufferPointer { x in
                for c in 0..<p {
                    var sum = 0.0
                    let column = x.baseAddress! + c * n
                    for i in 0..<n { sum += column[i] * e[i] }
                    gradient[t + c] = sum
                }
            }
        } }
        return gradient
    }

    /// The entries of S = M⁻¹ that rows read, from M's factor L = [D 0; B C] (first part D
    /// diagonal, scalar terms): S₂₂ = C⁻ᵀC⁻¹ (dense, both triangles); group g's column on its
    /// pattern, −S₂₂ B_g / D_g, stored as the off-diagonal block is; and S's diagonal on the first
    /// part, D_g⁻² + (B_g/D_g)ᵀ S₂₂ (B_g/D_g).
    private func selectedInverse(_ factor: BlockedCholesky, q2: Int) -> (first: [Double], column: [Double], dense: [Double]) {
        let layout = factor.layout
        var s22 = [Double](repeating: 0, count: max(q2 * q2, 1))
        if q2 > 0 {
            for c in 0..<q2 { for r in c..<q2 { s22[r + c * q2] = factor.dense[r, c] } }
            let info = s22.withUnsafeMutableBufferPointer {
                LAPACKE_dpotri_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(q2), $0.baseAddress!, Int32(q2))
            }
            precondition(info == 0, "the factor PIRLS left behind is singular")
            for c in 0..<q2 { for r in (c + 1)..<q2 { s22[c + r * q2] = s22[r + c * q2] } }
        }
        var s21 = [Double](repeating: 0, count: max(layout.patternRows.count, 1))
        var s11 = [Double](repeating: 0, count: layout.groupCount)
        var scaled = [Double](repeating: 0, count: max(q2, 1))
        s22.withUnsafeBufferPointer { s22 in
        s21.withUnsafeMutableBufferPointer { s21 in
        scaled.withUnsafeMutableBufferPointer { scaled in
        factor.offDiagonal.withUnsafeBufferPointer { b in
        layout.patternRows.withUnsafeBufferPointer { rows in
            for g in 0..<layout.groupCount {
                let start = layout.patternOffsets[g], end = layout.patternOffsets[g + 1]
                let d = factor.diagonal[g]
                // The pattern's rows below the dense random block (the working response's) are left out.
                var used = start
                while used < end && Int(rows[used]) < q2 { scaled[used - start] = b[used] / d; used += 1 }
                var quadratic = 0.0
                let count = used - start
                // Crossed designs: the pattern is a run of consecutive dense rows, read as one.
                let low = count > 0 ? Int(rows[start]) : 0
                let consecutive = count > 0 && Int(rows[used - 1]) - low == count - 1
                for a in start..<used {
                    let column = s22.baseAddress! + Int(rows[a]) * q2
                    var sum = 0.0
                    if consecutive {
                        let block = column + low
                        for c in 0..<count { sum += block[c] * scaled[c] }
                    } else {
                        for c in start..<used { sum += column[Int(rows[c])] * scaled[c - start] }
                    }
                    s21[a] = -sum
                    quadratic += scaled[a - start] * sum
                }
                s11[g] = 1 / (d * d) + quadratic
            }
        } } } } }
        return (s11, s21, s22)
    }
}

/// The base addresses of read-only arrays, for loops that index them many times.
@inline(__always)
private func withPointers<A, B, C, D, E, F, G, Result>(
    _ a: [A], _ b: [B], _ c: [C], _ d: [D], _ e: [E], _ f: [F], _ g: [G],
    _ body: (UnsafePointer<A>, UnsafePointer<B>, UnsafePointer<C>, UnsafePointer<D>, UnsafePointer<E>, UnsafePointer<F>,
             UnsafePointer<G>) -> Result) -> Result {
    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeBufferPointer { c in
    d.withUnsafeBufferPointer { d in e.withUnsafeBufferPointer { e in f.withUnsafeBufferPointer { f in
    g.withUnsafeBufferPointer { g in
        body(a.baseAddress!, b.baseAddress!, c.baseAddress!, d.baseAddress!, e.baseAddress!, f.baseAddress!, g.baseAddress!)
    } } } } } } }
}

@inline(__always)
private func withPointers<A, B, C, D, E, F, G, H, Result>(
    _ a: [A], _ b: [B], _ c: [C], _ d: [D], _ e: [E], _ f: [F], _ g: [G], _ h: [H],
    _ body: (UnsafePointer<A>, UnsafePointer<B>, UnsafePointer<C>, UnsafePointer<D>, UnsafePointer<E>, UnsafePointer<F>,
             UnsafePointer<G>, UnsafePointer<H>) -> Result) -> Result {
    withPointers(a, b, c, d, e, f, g) { a, b, c, d, e, f, g in
        h.withUnsafeBufferPointer { h in body(a, b, c, d, e, f, g, h.baseAddress!) }
    }
}

@inline(__always)
private func withPointers<A, B, C, D, Result>(
    _ a: [A], _ b: [B], _ c: [C], _ d: [D],
    _ body: (UnsafePointer<A>, UnsafePointer<B>, UnsafePointer<C>, UnsafePointer<D>) -> Result) -> Result {
    a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeBufferPointer { c in
    d.withUnsafeBufferPointer { d in body(a.baseAddress!, b.baseAddress!, c.baseAddress!, d.baseAddress!) } } } }
}

@inline(__always)
private func withMutablePointers<Result>(
    _ a: inout [Double], _ b: inout [Double], _ c: inout [Double], _ d: inout [Double], _ e: inout [Double],
    _ body: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>,
             UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Result) -> Result {
    a.withUnsafeMutableBufferPointer { a in b.withUnsafeMutableBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
    d.withUnsafeMutableBufferPointer { d in e.withUnsafeMutableBufferPointer { e in
        body(a.baseAddress!, b.baseAddress!, c.baseAddress!, d.baseAddress!, e.baseAddress!)
    } } } } }
}

@inline(__always)
private func withMutablePointers<Result>(
    _ a: inout [Double], _ b: inout [Double],
    _ body: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Result) -> Result {
    a.withUnsafeMutableBufferPointer { a in b.withUnsafeMutableBufferPointer { b in body(a.baseAddress!, b.baseAddress!) } }
}
