import Diagnostics
import Testing
import TestSupport

/// Chains too short for one pair of autocorrelations (split halves of 4 or 5 draws) once crashed
/// the ESS sum; these are ArviZ 0.23.4's values on the same draws (`az.ess(x, method=...)`,
/// `az.rhat(x)`, 2 chains drawn with numpy's default_rng(12), rounded to 3 decimals), but for
/// the one edge case where the diagnostics follow R posterior (ConvergenceDiagnostics.swift).
@Suite struct ShortChainTests {
    struct Case: Sendable {
        let chains: [[Double]]
        let bulk: Double, tail: Double, mean: Double, rHat: Double
    }

    static let cases: [Case] = [
        Case(chains: [[-0.007, 1.046, 0.742, 0.724, 1.619, -1.206, -0.627, -1.321],
                      [-0.108, 0.999, -0.022, 0.496, -1.911, 0.147, -0.907, 1.775]],
             bulk: 19.265919722494797, tail: 19.265919722494797, mean: 19.265919722494797, rHat: 1.1110439325415913),
        Case(chains: [[0.887, 0.949, -0.058, 0.613, 0.658, -0.344, -0.497, -0.115, -0.605],
                      [-0.594, -0.283, -0.728, 0.766, -1.596, 0.824, -0.626, -0.546, -1.351]],
             // Tail: the 5 % indicator is constant once split, so NaN, as R posterior's ess_tail
             // (NA) and the file's edge-case rule; ArviZ reports 16 there.
             bulk: 19.265919722494797, tail: .nan, mean: 19.265919722494797, rHat: 1.2268052604820778),
        Case(chains: [[-0.144, -0.248, 0.191, -0.534, 0.094, 1.82, 0.409, -0.574, 0.953, -0.129],
                      [0.594, 0.613, -0.391, -1.93, -0.348, 0.551, -0.38, 0.439, 0.98, -0.544]],
             bulk: 26.020599913279625, tail: 21.73913043478262, mean: 23.01724356544288, rHat: 1.1256736644280687),
    ]

    @Test(arguments: cases.indices)
    func matchArviZ(_ index: Int) {
        let c = Self.cases[index]
        #expect(isClose(essBulk(c.chains), c.bulk, relative: 1e-9))
        let tail = essTail(c.chains)
        #expect(c.tail.isNaN ? tail.isNaN : isClose(tail, c.tail, relative: 1e-9))
        #expect(isClose(essMean(c.chains), c.mean, relative: 1e-9))
        #expect(isClose(rankNormalizedRHat(c.chains), c.rHat, relative: 1e-9))
    }
}
