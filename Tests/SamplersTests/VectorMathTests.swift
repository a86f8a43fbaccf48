import CVectorMath
import Foundation
import Testing

/// `mixmc_exp` and `mixmc_log1p` (glibc's libmvec four at a time, libm for the rest) against libm
/// value by value: within 4 ulp (libmvec's documented bound), over the ranges the samplers feed
/// them (−|η| for logistic(η), log1p's argument μ expm1(d) in (−0.64, 1.72)) and far outside,
/// for lengths that leave every remainder of four, in place.
@Suite struct VectorMathTests {
    static func ulpDistance(_ a: Double, _ b: Double) -> Double {
        if a == b { return 0 }
        return abs(a - b) / b.ulp
    }

    static func values(_ range: ClosedRange<Double>, count: Int) -> [Double] {
        (0..<count).map { range.lowerBound + (range.upperBound - range.lowerBound) * (Double($0) + 0.5) / Double(count) }
    }

    @Test(arguments: [0, 1, 3, 4, 5, 8, 57, 10_001])
    func expIsWithinFourULPOfLibm(count: Int) {
        for range in [-40.0...0.0, -700.0...700.0, -1e-8...1e-8] {
            var x = Self.values(range, count: count)
            let expected = x.map { Foundation.exp($0) }
            x.withUnsafeMutableBufferPointer { mixmc_exp($0.baseAddress, $0.baseAddress, $0.count) }
            let worst = zip(x, expected).map { Self.ulpDistance($0, $1) }.max() ?? 0
            #expect(worst <= 4, "exp over \(range), \(count) values: \(worst) ulp")
        }
    }

    @Test(arguments: [0, 1, 3, 4, 5, 8, 57, 10_001])
    func log1pIsWithinFourULPOfLibm(count: Int) {
        for range in [-0.64...1.72, -0.999999...1e6, -1e-10...1e-10] {
            let x = Self.values(range, count: count)
            var y = [Double](repeating: .nan, count: count)
            x.withUnsafeBufferPointer { x in y.withUnsafeMutableBufferPointer { mixmc_log1p(x.baseAddress, $0.baseAddress, x.count) } }
            let worst = zip(y, x.map { Foundation.log1p($0) }).map { Self.ulpDistance($0, $1) }.max() ?? 0
            #expect(worst <= 4, "log1p over \(range), \(count) values: \(worst) ulp")
        }
    }
}
