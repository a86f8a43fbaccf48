import Foundation
import CNumerics
import Linalg

extension CollapsedLogPosterior {
    /// The parts of M⁻¹ the gradient needs, from the blocked factor L of M (docs/math.md,
    /// eq. 48-49), where M is the integrated part of the system: the random effects (and X under
    /// `.marginal`). With L = [L₁ 0; B D] (L₁ block-diagonal over the first term's levels) and
    /// W = D⁻¹, the dense part of M⁻¹ is P = WᵀW, and
    ///
    /// - `denseInverseDiagonal`: P's diagonal, column norms of W;
    /// - `diagonalSums[j]` S_j = Σ_h (M⁻¹)_{hh}, the sum over term j's levels of its k_j x k_j
    ///   diagonal blocks: for the first term (M⁻¹)_{gg} = L_g⁻ᵀL_g⁻¹ + (W C_g)ᵀ(W C_g) with
    ///   C_g = B_g L_g⁻¹ on group g's pattern rows; for the other terms the Gram matrices of W's
    ///   columns of each level.
    ///
    /// Why W and not P (LAPACK `dpotri` = `dtrtri` + `dlauum`): nothing needs P off its diagonal
    /// blocks once C_gᵀ P C_g is read as a Gram of W C_g, and W C_g costs |π_g| k₁ columns of W
    /// per group; `dlauum` alone costs as much as the factorization (InstEval: about 11 ms of
    /// 57 per gradient).
    struct InverseBlocks {
        /// P's diagonal over the integrated dense rows.
        var denseInverseDiagonal: [Double]
        var diagonalSums: [[Double]]

        /// Rows of W per pass of the first term's products (a multiple of `chunkRows`): 64 rows of
        /// every column (InstEval: 590 KB) stay in a core's L2 while all the groups read them,
        /// where whole columns would stream W (10 MB) from L3 once per group.
        static let panelRows = 64
        /// W's rows are read 8 at a time (16 measured no faster on InstEval).
        typealias Chunk = SIMD8<Double>
        static var chunkRows: Int { Chunk.scalarCount }

        /// W's leading dimension: d rounded up to whole chunks, the padding rows zero.
        static func leadingDimension(_ d: Int) -> Int { (d + chunkRows - 1) / chunkRows * chunkRows }

        /// Σ_r W[r, a] W[r, b] in whole chunks from the chunk of row min(a, b): W's zeros above its
        /// diagonal and in the padding rows make the extra terms vanish.
        @inline(__always)
        static func columnDot(_ w: UnsafePointer<Double>, leadingDimension ld: Int, _ a: Int, _ b: Int) -> Double {
            let raw = UnsafeRawPointer(w)
            let stride = MemoryLayout<Double>.stride
            var sum = Chunk.zero
            var r = min(a, b) / chunkRows * chunkRows
            while r < ld {
                sum += raw.loadUnaligned(fromByteOffset: (r + a * ld) * stride, as: Chunk.self)
                    * raw.loadUnaligned(fromByteOffset: (r + b * ld) * stride, as: Chunk.self)
                r += chunkRows
            }
            return sum.sum()
        }

        /// `scratch` holds W (leading dimension `leadingDimension(d)`) afterwards; it is resized
        /// and zeroed when its size is wrong, and otherwise only W's lower triangle is written,
        /// so the zeros above it and in the padding rows persist.
        init(factor: BlockedCholesky, products: CrossProducts, termSizes: [Int], integratedDense d: Int,
             scratch: inout [Double]) {
            let blocked = products.layout
            let k1 = blocked.groupSize
            let m = blocked.denseDimension
            let ld = Self.leadingDimension(d)
            if scratch.count != ld * d { scratch = [Double](repeating: 0, count: ld * d) }
            var diagonal = [Double](repeating: 0, count: d)
            var sums: [[Double]] = termSizes.map { [Double](repeating: 0, count: $0 * $0) }
            if d > 0 {
                factor.dense.storage.withUnsafeBufferPointer { l in
                    scratch.withUnsafeMutableBufferPointer { w in
                        for c in 0..<d { (w.baseAddress! + c * ld + c).update(from: l.baseAddress! + c * m + c, count: d - c) }
                    }
                }
                scratch.withUnsafeMutableBufferPointer { TriangularInverse.invertLower($0.baseAddress!, order: d, leadingDimension: ld) }
                scratch.withUnsafeBufferPointer { w in
                    let w = w.baseAddress!
                    for c in 0..<d { diagonal[c] = Self.columnDot(w, leadingDimension: ld, c, c) }
                    // Other terms: P_hh = W[:, h]ᵀ W[:, h].
                    for (j, k) in termSizes.enumerated().dropFirst() {
                        let termStart = products.termStarts[j]
                        let rows = (j + 1 < termSizes.count ? products.termStarts[j + 1] : products.fixedStart) - termStart
                        for h in 0..<(rows / k) {
                            let base = termStart + h * k
                            for a in 0..<k { for b in 0..<k {
                                sums[j][a + b * k] += a == b ? diagonal[base + a] : Self.columnDot(w, leadingDimension: ld, base + a, base + b)
                            } }
                        }
                    }
                }
            }

            // First term, eq. 48: L_g⁻ᵀL_g⁻¹ and C_g = B_g L_g⁻¹ on the integrated pattern rows
            // (the pattern is sorted: they are a prefix), stored like B.
            let offsets = blocked.patternOffsets
            var integratedRows = [Int](repeating: 0, count: blocked.groupCount)
            var c = [Double](repeating: 0, count: blocked.patternRows.count * k1)
            var first = [Double](repeating: 0, count: k1 * k1)
            factor.diagonal.withUnsafeBufferPointer { diagonal in
                for g in 0..<blocked.groupCount {
                    let lInverse = SmallDense.inverseOfLower(diagonal.baseAddress! + g * k1 * k1, order: k1)
                    for a in 0..<k1 { for b in 0..<k1 {
                        var s = 0.0
                        for r in max(a, b)..<k1 { s += lInverse[r + a * k1] * lInverse[r + b * k1] }
                        first[a + b * k1] += s
                    } }
                    let start = offsets[g]
                    let count = offsets[g + 1] - start
                    var rows = 0
                    while rows < count, Int(blocked.patternRows[start + rows]) < d { rows += 1 }
                    integratedRows[g] = rows
                    for column in 0..<k1 { for a in 0..<rows {
                        var s = 0.0
                        for r in column..<k1 { s += factor.offDiagonal[start * k1 + r * count + a] * lInverse[r + column * k1] }
                        c[start * k1 + column * count + a] = s
                    } }
                }
            }
            // Σ_g (W C_g)ᵀ(W C_g) over chunks of 8 rows [i, i + 8) of W, in panels of rows that
            // stay in cache while every group reads them: only pattern rows ρ < i + 8 reach a chunk
            // (W[r, ρ] = 0 for r < ρ), and each chunk of W C_g is summed in registers and folded
            // into the Gram at once.
            if d > 0 {
                var gram = [Chunk](repeating: .zero, count: k1 * k1)
                var chunk = [Chunk](repeating: .zero, count: k1)
                scratch.withUnsafeBufferPointer { w in
                c.withUnsafeBufferPointer { c in
                blocked.patternRows.withUnsafeBufferPointer { patternRows in
                gram.withUnsafeMutableBufferPointer { gram in
                chunk.withUnsafeMutableBufferPointer { chunk in
                    let w = UnsafeRawPointer(w.baseAddress!), c = c.baseAddress!, patternRows = patternRows.baseAddress!
                    let gram = gram.baseAddress!, chunk = chunk.baseAddress!
                    let columnBytes = ld * MemoryLayout<Double>.stride
                    for r0 in stride(from: 0, to: d, by: Self.panelRows) {
                        let r1 = min(r0 + Self.panelRows, d)
                        for g in 0..<blocked.groupCount {
                            let start = offsets[g]
                            let count = offsets[g + 1] - start
                            let rows = patternRows + start
                            var reaching = 0
                            var i = r0
                            while i < r1 {
                                while reaching < integratedRows[g], Int(rows[reaching]) < i + Self.chunkRows { reaching += 1 }
                                if reaching == 0 { i += Self.chunkRows; continue }
                                let rowBytes = i * MemoryLayout<Double>.stride
                                for column in 0..<k1 {
                                    let coefficients = c + start * k1 + column * count
                                    var sum = Chunk.zero
                                    for a in 0..<reaching {
                                        let source = w.loadUnaligned(fromByteOffset: Int(rows[a]) * columnBytes + rowBytes, as: Chunk.self)
                                        sum += coefficients[a] * source
                                    }
                                    chunk[column] = sum
                                }
                                for a in 0..<k1 { for b in 0...a { gram[a + b * k1] += chunk[a] * chunk[b] } }
                                i += Self.chunkRows
                            }
                        }
                    }
                } } } } }
                for a in 0..<k1 { for b in 0...a {
                    let s = gram[a + b * k1].sum()
                    first[a + b * k1] += s
                    if a != b { first[b + a * k1] += s }
                } }
            }
            sums[0] = first
            denseInverseDiagonal = diagonal
            diagonalSums = sums
        }
    }
}
