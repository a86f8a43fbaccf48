import Foundation
import Testing
@testable import Samplers

/// References for PG(b, z) taken from its published representations (Polson, Scott & Windle
/// 2013; docs/math.md eqs. 82-83 and 89), computed here from those formulas, never from the sampler.
enum PolyaGammaReference {
    /// E ω = b/(2z) tanh(z/2), b/4 at z = 0.
    static func mean(b: Double, z: Double) -> Double {
        z == 0 ? b / 4 : b / (2 * z) * tanh(z / 2)
    }

    /// Var ω = b/(4z³) (sinh z − z)/cosh²(z/2), b/24 at z = 0.
    static func variance(b: Double, z: Double) -> Double {
        if z == 0 { return b / 24 }
        let halfCosh = cosh(z / 2)
        return b / (4 * z * z * z) * (sinh(z) - z) / (halfCosh * halfCosh)
    }

    /// The m-th cumulant from ω = Σ_k g_k/d_k, g_k ~ Gamma(b, 1), d_k = 2π²(k − ½)² + z²/2
    /// (eq. 82): κ_m = b (m − 1)! Σ_k d_k^{−m}. `terms` summands plus the integral of the tail.
    static func cumulant(_ m: Int, b: Double, z: Double, terms: Int = 20_000) -> Double {
        func d(_ k: Double) -> Double { 2 * Double.pi * Double.pi * (k - 0.5) * (k - 0.5) + z * z / 2 }
        var sum = 0.0
        for k in stride(from: terms, through: 1, by: -1) { sum += pow(d(Double(k)), -Double(m)) }
        // The tail Σ_{k > K} d_k^{−m} by the midpoint rule, ∫_K^∞ du/(2π²(u² + a²)),
        // a = z/(2π), for m = 1; for m ≥ 2 it is below 10⁻²⁵ of the sum.
        if m == 1 {
            let a = abs(z) / (2 * Double.pi), upper = Double(terms)
            sum += (a == 0 ? 1 / upper : atan(a / upper) / a) / (2 * Double.pi * Double.pi)
        }
        let factorial = (1..<m).reduce(1.0) { $0 * Double($1) }
        return b * factorial * sum
    }

    /// Central fourth moment μ₄ = κ₄ + 3κ₂².
    static func centralFourthMoment(b: Double, z: Double) -> Double {
        let variance = variance(b: b, z: z)
        return cumulant(4, b: b, z: z, terms: 500) + 3 * variance * variance
    }

    /// Φ(x) through erfc, adequate where the terms below use it (no underflow that matters).
    static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// P(J*(h, c) ≤ x) by the left series (eq. 89):
    /// 2^h cosh^h(c) Σ_n (−1)^n Γ(n + h)/(Γ(h) n!) e^{−dc} P(IG(d/c, d²) ≤ x), d = 2n + h, where
    /// e^{−dc} P(IG(d/c, d²) ≤ x) = e^{−dc} Φ((cx − d)/√x) + e^{dc} Φ(−(cx + d)/√x)
    /// (erfc(d/√(2x)) at c = 0).
    static func jacobiCDFLeft(_ x: Double, h: Double, c: Double) -> Double {
        let root = x.squareRoot()
        let logScale = h * (c + log1p(exp(-2 * c)))  // log(2^h cosh^h c)
        var sum = 0.0
        var coefficient = 1.0  // Γ(n + h)/(Γ(h) n!)
        var previousTerm = Double.infinity
        var n = 0
        while true {
            let d = 2 * Double(n) + h
            let igPart = exp(-d * c + logScale) * normalCDF((c * x - d) / root)
                + exp(d * c + logScale) * normalCDF(-(c * x + d) / root)
            let term = coefficient * igPart
            sum += n.isMultiple(of: 2) ? term : -term
            if n > 2 && term < previousTerm && term < 1e-17 { return sum }
            previousTerm = term
            n += 1
            coefficient *= (Double(n) + h - 1) / Double(n)
        }
    }

    /// P(J*(1, c) ≤ x) by the right series (eq. 89): 1 − cosh(c) Σ (−1)^n π(n + ½) e^{−k_n x}/k_n,
    /// k_n = (n + ½)²π²/2 + c²/2. Converges fast for x away from 0.
    static func jacobiCDFRight(_ x: Double, c: Double) -> Double {
        var survival = 0.0
        var n = 0
        while true {
            let half = Double(n) + 0.5
            let k = half * half * Double.pi * Double.pi / 2 + c * c / 2
            let term = Double.pi * half * exp(-k * x + c + log1p(exp(-2 * c)) - log(2.0)) / k
            survival += n.isMultiple(of: 2) ? term : -term
            if term < 1e-17 { return 1 - survival }
            n += 1
        }
    }

    /// P(PG(b, z) ≤ w) = P(J*(b, |z|/2) ≤ 4w).
    static func cdf(_ w: Double, b: Double, z: Double) -> Double {
        let x = 4 * w, c = abs(z) / 2
        if b == 1 && x > 0.5 { return jacobiCDFRight(x, c: c) }
        return jacobiCDFLeft(x, h: b, c: c)
    }
}

@Suite struct PolyaGammaTests {
    /// The cumulant series agree with the closed forms they are checked beside, so μ₄ below
    /// rests on the same representation as the mean and variance.
    @Test(arguments: [(1.0, 0.0), (3.7, 0.5), (10.0, 2.0), (1.0, 50.0)])
    func cumulantSeriesMatchClosedForms(b: Double, z: Double) {
        let mean = PolyaGammaReference.mean(b: b, z: z)
        let variance = PolyaGammaReference.variance(b: b, z: z)
        #expect(abs(PolyaGammaReference.cumulant(1, b: b, z: z) - mean) < 1e-9 * mean)
        #expect(abs(PolyaGammaReference.cumulant(2, b: b, z: z) - variance) < 1e-9 * variance)
    }

    /// The two CDF series of J*(1, c) (left: inverse-Gaussian terms; right: exponential terms)
    /// agree where both converge: the KS reference does not hinge on one formula.
    @Test(arguments: [0.0, 1.0, 5.0])
    func leftAndRightCDFSeriesAgree(c: Double) {
        for x in [0.2, 0.5, 0.64, 1.0, 2.0, 4.0] {
            let left = PolyaGammaReference.jacobiCDFLeft(x, h: 1, c: c)
            let right = PolyaGammaReference.jacobiCDFRight(x, c: c)
            #expect(abs(left - right) < 1e-12, "x = \(x): \(left) vs \(right)")
        }
    }

    /// Sample mean and variance of n draws against the closed forms (eq. 82), each within 4.5
    /// Monte Carlo standard errors: sd(mean) = σ/√n, sd(sample variance) = √((μ₄ − σ⁴)/n) with
    /// μ₄ from the cumulant series. One seed per case: deterministic.
    @Test(arguments: [1.0, 2.0, 3.7, 10.0, 50.0].flatMap { b in
        [0.0, 0.5, 2.0, 10.0, 50.0].map { z in (b, z) }
    } + [(1.0, 100.0), (1.0, -100.0), (1.5, 100.0), (12.5, -3.0), (4.0, 1.0), (7.3, 0.0), (2.5, 5.0)])
    func momentsMatchClosedForms(b: Double, z: Double) {
        let n = 20_000
        let random = RandomStream(seed: 2013, chain: Int(b * 100 + abs(z) * 7))
        var sum = 0.0, sumOfSquares = 0.0
        var draws = [Double](repeating: 0, count: n)
        for i in 0..<n {
            draws[i] = PolyaGamma.draw(b: b, z: z, random: random)
            sum += draws[i]
        }
        let mean = sum / Double(n)
        for x in draws { sumOfSquares += (x - mean) * (x - mean) }
        let sampleVariance = sumOfSquares / Double(n - 1)
        let exactMean = PolyaGammaReference.mean(b: b, z: z)
        let exactVariance = PolyaGammaReference.variance(b: b, z: z)
        let fourth = PolyaGammaReference.centralFourthMoment(b: b, z: z)
        let meanSE = (exactVariance / Double(n)).squareRoot()
        let varianceSE = ((fourth - exactVariance * exactVariance) / Double(n)).squareRoot()
        #expect(draws.allSatisfy { $0 > 0 && $0.isFinite })
        #expect(abs(mean - exactMean) < 4.5 * meanSE,
                "PG(\(b), \(z)): mean \(mean) vs \(exactMean), \((mean - exactMean) / meanSE) SE")
        #expect(abs(sampleVariance - exactVariance) < 4.5 * varianceSE,
                "PG(\(b), \(z)): variance \(sampleVariance) vs \(exactVariance), \((sampleVariance - exactVariance) / varianceSE) SE")
    }

    /// Far tilts, where cosh and sinh overflow: E ω = b/(2|z|) and Var ω = b/(2|z|³) to double
    /// precision for |z| ≥ 1000 (tanh(z/2) = 1, (sinh z − z)/cosh²(z/2) = 2 up to e^{−1000});
    /// the mean within 4.5 SE of 5,000 draws, every draw finite and positive.
    @Test(arguments: [(1.0, 1e3), (1.0, -1e6), (2.0, 1e4), (3.7, 1e3), (50.0, 1e5)])
    func farTiltsMatchTheLimitMoments(b: Double, z: Double) {
        let n = 5_000
        let random = RandomStream(seed: 4242, chain: Int(b * 10))
        let draws = (0..<n).map { _ in PolyaGamma.draw(b: b, z: z, random: random) }
        let mean = draws.reduce(0, +) / Double(n)
        let exactMean = b / (2 * abs(z)), standardError = (b / (2 * pow(abs(z), 3)) / Double(n)).squareRoot()
        #expect(draws.allSatisfy { $0 > 0 && $0.isFinite })
        #expect(abs(mean - exactMean) < 4.5 * standardError,
                "PG(\(b), \(z)): mean \(mean) vs \(exactMean), \((mean - exactMean) / standardError) SE")
    }

    /// A sweep over z that crosses every branch of the weights (eq. 86: log Q by its series and
    /// by its continued fraction, e^{2hc} dropped past hc = 350): finite, positive draws.
    @Test func everyTiltDrawsFinitePositiveValues() {
        let random = RandomStream(seed: 31, chain: 1)
        for b in [1.0, 2.0, 3.7, 4.0, 9.3] {
            let sampler = PolyaGammaSampler(b: b)
            for z in stride(from: 0.0, through: 800, by: 0.7) {
                for _ in 0..<3 {
                    let draw = sampler.draw(z: z, random: random)
                    #expect(draw > 0 && draw.isFinite, "PG(\(b), \(z)): \(draw)")
                }
            }
        }
    }

    /// Kolmogorov-Smirnov distance of n draws from the series CDF (eq. 89), below the 1 %
    /// critical value 1.628/√n (asymptotic Kolmogorov quantile; n = 20,000 gives 0.0115).
    /// b = 1 is Devroye's method, b = 2 its sum, b = 3.7 the alternate method, b = 7.3 and 10 the
    /// sum of 2 and 3 alternate pieces (the left series' largest term stays below 50 there, so
    /// its rounding error is below 10⁻¹³).
    @Test(arguments: [(1.0, 0.0), (1.0, 2.0), (1.0, 10.0), (2.0, 2.0), (3.7, 0.0), (3.7, 2.0),
                      (7.3, 1.0), (10.0, 0.0)])
    func kolmogorovSmirnovAgainstSeriesCDF(b: Double, z: Double) {
        let n = 20_000
        let random = RandomStream(seed: 1339, chain: Int(b * 10 + z))
        let draws = (0..<n).map { _ in PolyaGamma.draw(b: b, z: z, random: random) }.sorted()
        var distance = 0.0
        for (i, w) in draws.enumerated() {
            let f = PolyaGammaReference.cdf(w, b: b, z: z)
            distance = max(distance, Double(i + 1) / Double(n) - f, f - Double(i) / Double(n))
        }
        #expect(distance < 1.628 / Double(n).squareRoot(), "PG(\(b), \(z)): KS distance \(distance)")
    }

    @Test func sameStreamGivesTheSameDraws() {
        let a = RandomStream(seed: 77, chain: 2)
        let b = RandomStream(seed: 77, chain: 2)
        let cases: [(Double, Double)] = [(1, 0), (1, 3.2), (2, -1), (3.7, 0.5), (50, 10), (1, 100)]
        for _ in 0..<200 {
            for (shape, z) in cases {
                #expect(PolyaGamma.draw(b: shape, z: z, random: a) == PolyaGamma.draw(b: shape, z: z, random: b))
            }
        }
        let other = RandomStream(seed: 78, chain: 2)
        #expect(PolyaGamma.draw(z: 1, random: a) != PolyaGamma.draw(z: 1, random: other))
    }

    /// The composition of eq. 88: b = 1 and 2 by Devroye's method, anything else in ⌈b/4⌉ equal
    /// pieces of h ∈ [1, 4]; a sampler kept for a fixed b draws what the one-off call draws.
    @Test func compositionFollowsEquation88() {
        let expected: [(Double, PolyaGammaSampler.Method, Double)] = [
            (1, .devroye(count: 1), 1), (2, .devroye(count: 2), 1), (1.5, .alternate(count: 1), 1.5),
            (3, .alternate(count: 1), 3), (4, .alternate(count: 1), 4), (4.5, .alternate(count: 2), 2.25),
            (50, .alternate(count: 13), 50.0 / 13),
        ]
        for (b, method, h) in expected {
            let sampler = PolyaGammaSampler(b: b)
            #expect(sampler.method == method, "b = \(b)")
            #expect(sampler.piece.h == h, "b = \(b)")
        }
        let a = RandomStream(seed: 9, chain: 1), b = RandomStream(seed: 9, chain: 1)
        let sampler = PolyaGammaSampler(b: 7.5)
        for z in [0.0, 1.5, -20.0] {
            #expect(sampler.draw(z: z, random: a) == PolyaGamma.draw(b: 7.5, z: z, random: b))
        }
    }

    /// PG(b, z) = PG(b, −z): only |z| enters, so the same stream gives the same draws.
    @Test func drawsAreEvenInZ() {
        let a = RandomStream(seed: 5, chain: 1)
        let b = RandomStream(seed: 5, chain: 1)
        for shape in [1.0, 2.0, 3.7, 12.0] {
            for z in [0.3, 4.0, 60.0] {
                #expect(PolyaGamma.draw(b: shape, z: z, random: a) == PolyaGamma.draw(b: shape, z: -z, random: b))
            }
        }
    }

    /// log Q(h, x) of the right-hand weight (eq. 86) against closed forms: for integer h,
    /// Q(h, x) = e^{−x} Σ_{k<h} x^k/k!; for half-integer h, Q(h, x) = erfc(√x) + e^{−x} Σ_{k<h−½}
    /// x^{k+½}/Γ(k + 3/2). Both branches (series below x = h + 1, continued fraction above).
    @Test func upperIncompleteGammaMatchesClosedForms() {
        for h in [2.0, 3.0, 4.0, 1.5, 2.5, 3.5] {
            for x in [0.3, 1.0, 2.4, 3.4, 4.9, 5.1, 10.0, 40.0, 300.0, 2000.0] {
                let isInteger = h == h.rounded()
                if !isInteger && x > 600 { continue }  // erfc(√x) underflows: no closed-form reference
                var sum = 0.0, power = isInteger ? 1.0 : x.squareRoot()
                var k = 0.0
                var gamma = isInteger ? 1.0 : Double.pi.squareRoot() / 2  // k! or Γ(k + 3/2)
                while k < h - 0.75 {
                    sum += power / gamma
                    k += 1
                    power *= x
                    gamma *= isInteger ? k : k + 0.5
                }
                let exact = isInteger ? -x + log(sum) : log(erfc(x.squareRoot()) + exp(-x) * sum)
                let computed = JacobiProposal.logUpperGamma(shape: h, x: x, logGamma: lgamma(h))
                #expect(abs(computed - exact) < 1e-12 * max(1, abs(exact)), "Q(\(h), \(x))")
            }
        }
    }

    /// Devroye's test accepts every U below `certainAcceptance` at its first step (eq. 85): a_1/a_0
    /// = 3ρ stays below 1 − `certainAcceptance` with room for rounding on both pieces, and a
    /// stream's draws are those of the full series test (checked against it, draw by draw).
    @Test func certainAcceptanceIsBelowTheFirstStep() {
        let t = JacobiShape.devroyeTruncation
        let largestRatio = 3 * max(exp(-4 / t), exp(-Double.pi * Double.pi * t))
        #expect(PolyaGamma.certainAcceptance < (1 - largestRatio) * (1 - 1e-12))
        for x in [1e-3, 0.01, 0.3, t, t.nextUp, 1.0, 10.0, 500.0] {
            let (first, rho) = PolyaGamma.devroyeSeriesStart(x, truncation: t)
            let u = PolyaGamma.certainAcceptance.nextDown
            let ratio: (Double, Double) -> Double = { n, power in (2 * n + 1) / (2 * n - 1) * power }
            let accepted = PolyaGamma.seriesAccepts(bound: u * first, first: first, monotone: true, ratio: ratio, base: rho)
            #expect(accepted, "x = \(x)")
        }
    }

    /// The alternate method's certain first-step acceptance on x ≤ t(h) (eq. 86): below 1 for
    /// every h in [1, 4], and the series test accepts the largest uniform below it, at x = t(h)
    /// (where a_1/a_0 is largest) and below.
    @Test func alternateCertainAcceptanceIsBelowTheFirstStep() {
        for h in stride(from: 1.05, through: 4.0, by: 0.05) {
            let shape = JacobiShape(h: h).constants
            #expect(shape.certainLeftAcceptance > 0.4 && shape.certainLeftAcceptance < 1, "h = \(h)")
            for x in [shape.truncation, shape.truncation / 2, h * h / 1000] {
                let logX = log(x)
                let first = exp(shape.logLeftConstant - 1.5 * logX - h * h / (2 * x))
                let shift = exp(-2 * (h - 1) / x)
                let ratio: (Double, Double) -> Double = { n, power in (n + h - 1) / n * (2 * n + h) / (2 * n + h - 2) * shift * power }
                let u = shape.certainLeftAcceptance.nextDown
                let accepted = PolyaGamma.seriesAccepts(bound: u * first, first: first, monotone: false, ratio: ratio, base: exp(-4 / x))
                #expect(accepted, "h = \(h), x = \(x)")
            }
        }
    }

    /// t(h), where the alternate method's two kernels cross (eq. 86): 2/π at h = 1 exactly, and
    /// BayesLogit's schedule (Windle et al., to two decimals) at h = 1.5, 2, 3, 4.
    @Test func truncationPointsMatchTheCrossing() {
        #expect(abs(JacobiShape.crossingPoint(h: 1) - 2 / Double.pi) < 1e-12)
        for (h, t) in [(1.5, 1.46), (2.0, 2.02), (3.0, 3.08), (4.0, 4.13)] {
            #expect(abs(JacobiShape.crossingPoint(h: h) - t) < 0.005, "h = \(h)")
        }
    }
}
