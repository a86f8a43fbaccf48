import Foundation
import CNumerics
import Linalg

extension CollapsedLogPosterior {
    /// The parts of M⁻¹ the gradient needs, from the blocked factor L of M (docs/math.md,
    /// eq. 48-49), where M is the integrated part of the system: the random effects (and X under
    /// `.marginal`). With L = [L₁ 0; B D] (L₁ block-diagonal over the first term's levels):
    ///
    /// - `denseInverse` P = (D Dᵀ)⁻¹, the dense part of M⁻¹ (LAPACK `dpotri` on D);
    /// - `diagonalSums[j]` S_j = Σ_h (M⁻¹)_{hh}, the sum over term j's levels of its k_j x k_j
    ///   diagonal blocks: for the first term (M⁻¹)_{gg} = L_g⁻ᵀL_g⁻¹ + C_gᵀ P C_g with
    ///   C_g = B_g L_g⁻¹, which reads P only on group g's pattern rows; for the other terms the
    ///   diagonal blocks of P.
    struct InverseBlocks {
        /// P, full (both triangles), column-major `integratedDense` squared.
        var denseInverse: [Double]
        var diagonalSums: [[Double]]

        init(factor: BlockedCholesky, products: CrossProducts, termSizes: [Int], integratedDense d: Int) {
            let blocked = products.layout
            let k1 = blocked.groupSize
            let m = blocked.denseDimension
            var inverse = [Double](repeating: 0, count: d * d)
            if d > 0 {
                factor.dense.storage.withUnsafeBufferPointer { l in
                    for c in 0..<d { for r in c..<d { inverse[r + c * d] = l[r + c * m] } }
                }
                let info = inverse.withUnsafeMutableBufferPointer {
                    LAPACKE_dpotri_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(d), $0.baseAddress!, Int32(d))
                }
                precondition(info == 0, "dpotri failed on a factor with a positive diagonal")
                for c in 0..<d { for r in (c + 1)..<max(d, c + 1) { inverse[c + r * d] = inverse[r + c * d] } }
            }
            var sums: [[Double]] = termSizes.map { [Double](repeating: 0, count: $0 * $0) }

            // First term, eq. 48.
            var first = [Double](repeating: 0, count: k1 * k1)
            var c = [Double](repeating: 0, count: 0)
            var pc = [Double](repeating: 0, count: 0)
            factor.diagonal.withUnsafeBufferPointer { diagonal in
                for g in 0..<blocked.groupCount {
                    let lInverse = SmallDense.inverseOfLower(diagonal.baseAddress! + g * k1 * k1, order: k1)
                    for a in 0..<k1 { for b in 0..<k1 {
                        var s = 0.0
                        for r in max(a, b)..<k1 { s += lInverse[r + a * k1] * lInverse[r + b * k1] }
                        first[a + b * k1] += s
                    } }
                    let start = blocked.patternOffsets[g]
                    let count = blocked.patternCount(g)
                    // The pattern is sorted: the integrated rows are a prefix.
                    var rows = 0
                    while rows < count, Int(blocked.patternRows[start + rows]) < d { rows += 1 }
                    if rows == 0 { continue }
                    if c.count < rows * k1 { c = [Double](repeating: 0, count: rows * k1); pc = c }
                    // C = B_g L_g⁻¹ on those rows.
                    for column in 0..<k1 { for a in 0..<rows {
                        var s = 0.0
                        for r in column..<k1 { s += factor.offDiagonal[start * k1 + r * count + a] * lInverse[r + column * k1] }
                        c[a + column * rows] = s
                    } }
                    // P C, then Cᵀ (P C).
                    for column in 0..<k1 { for a in 0..<rows {
                        let rowA = Int(blocked.patternRows[start + a])
                        var s = 0.0
                        for b in 0..<rows { s += inverse[rowA + Int(blocked.patternRows[start + b]) * d] * c[b + column * rows] }
                        pc[a + column * rows] = s
                    } }
                    for a in 0..<k1 { for b in 0..<k1 {
                        var s = 0.0
                        for r in 0..<rows { s += c[r + a * rows] * pc[r + b * rows] }
                        first[a + b * k1] += s
                    } }
                }
            }
            sums[0] = first

            // Other terms: diagonal blocks of P.
            for (j, k) in termSizes.enumerated().dropFirst() {
                let termStart = products.termStarts[j]
                let rows = (j + 1 < termSizes.count ? products.termStarts[j + 1] : products.fixedStart) - termStart
                for h in 0..<(rows / k) {
                    let base = termStart + h * k
                    for a in 0..<k { for b in 0..<k { sums[j][a + b * k] += inverse[(base + a) + (base + b) * d] } }
                }
            }
            denseInverse = inverse
            diagonalSums = sums
        }
    }
}
