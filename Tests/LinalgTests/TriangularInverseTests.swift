import Testing
import Linalg

/// `TriangularInverse.invertLower` against L L⁻¹ = I, at orders below, at and well above the
/// recursion's leaf (odd orders split unevenly), with a leading dimension beyond the order.
@Suite struct TriangularInverseTests {
    @Test(arguments: [1, 7, 32, 33, 100, 257])
    func inverseTimesFactorIsIdentity(order n: Int) {
        let ld = n + 5
        var state: UInt64 = UInt64(n)
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        // A well-conditioned lower factor; sentinels above the diagonal and in the padding rows.
        var l = [Double](repeating: 0, count: ld * n)
        for c in 0..<n { for r in c..<n { l[r + c * ld] = r == c ? 1 + uniform() : (uniform() - 0.5) / Double(n).squareRoot() } }
        var a = l
        for c in 0..<n {
            for r in 0..<c { a[r + c * ld] = 99 }
            for r in n..<ld { a[r + c * ld] = -99 }
        }
        a.withUnsafeMutableBufferPointer { TriangularInverse.invertLower($0.baseAddress!, order: n, leadingDimension: ld) }
        var worst = 0.0
        for c in 0..<n {
            for r in 0..<c { #expect(a[r + c * ld] == 99) }
            for r in n..<ld { #expect(a[r + c * ld] == -99) }
            for r in c..<n {
                var s = 0.0
                for p in c...r { s += l[r + p * ld] * a[p + c * ld] }
                worst = max(worst, abs(s - (r == c ? 1 : 0)))
            }
        }
        #expect(worst < 1e-12, "order \(n): max |L L⁻¹ − I| = \(worst)")
    }
}
