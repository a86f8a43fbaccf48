import CNumerics
import Foundation

/// Exact draws from the Pólya-Gamma distribution PG(b, z), b ≥ 1 real, z real (docs/math.md,
/// eqs. 82-89).
///
/// PG(b, z) = J*(b, z/2)/4 (eq. 82), and J*(h, c) is drawn by accept-reject with an
/// alternating-series test (eq. 84), which decides exactly whether U·g(X) ≤ f(X) without
/// evaluating the density f:
/// - b = 1: Devroye's method as Polson, Scott & Windle (2013) give it (eq. 85);
/// - integer b ≤ `largestDevroyeSum`: the sum of b draws of PG(1, z);
/// - any other b: k = ⌈b/4⌉ independent pieces J*(b/k, c), each by Windle, Polson & Scott's
///   (2014) alternate method for h ∈ [1, 4] (eqs. 86-87), summed (eq. 88).
/// No normal or saddle-point approximation is used for any b (eq. 88 says why).
///
/// PG(b, z) = PG(b, −z): only |z| enters. Every draw reads only `random`, so a stream's draws
/// are reproducible. What depends on b alone (the pieces, t(h), log Γ(h)) is computed once per
/// sampler: a Gibbs sweep keeps one sampler per distinct b.
public struct PolyaGammaSampler: Sendable {
    /// The shape b.
    public let b: Double
    /// How PG(b, ·) is composed (eq. 88).
    let method: Method
    /// The shape of one piece: h = 1 for Devroye's method, b/k for the alternate method.
    let piece: JacobiShape

    enum Method: Sendable, Equatable {
        /// The sum of `count` draws of PG(1, z) by Devroye's method (eq. 85).
        case devroye(count: Int)
        /// The sum of `count` draws of J*(b/count, c)/4 by the alternate method (eq. 86).
        case alternate(count: Int)
    }

    /// Integer b up to this value are drawn as sums of b PG(1, z) draws; above it the alternate
    /// method's ⌈b/4⌉ pieces are cheaper (docs/benchmarks.md, "Pólya-Gamma draws").
    static let largestDevroyeSum = 2.0

    /// The largest piece the alternate method takes: Windle et al. establish its envelope for
    /// h ∈ [1, 4], and docs/math.md eq. 86 checks it there.
    static let largestPiece = 4.0

    /// A sampler of PG(b, ·); `b` must be finite and at least 1.
    public init(b: Double) {
        precondition(b >= 1 && b.isFinite, "PG(b, z) needs a finite b ≥ 1, got \(b)")
        self.b = b
        if b <= Self.largestDevroyeSum && b == b.rounded() {
            method = .devroye(count: Int(b))
            piece = .devroye
        } else {
            let count = (b / Self.largestPiece).rounded(.up)
            method = .alternate(count: Int(count))
            piece = JacobiShape(h: b / count)
        }
    }

    /// One draw of ω ~ PG(b, z); `z` must be finite.
    public func draw(z: Double, random: RandomStream) -> Double {
        precondition(z.isFinite, "PG(b, z) needs a finite z, got \(z)")
        var proposal = JacobiProposal(piece.constants, table: piece.rightProbabilities, c: abs(z) / 2)
        var sum = 0.0
        switch method {
        case .devroye(let count):
            for _ in 0..<count { sum += PolyaGamma.devroye(&proposal, random: random) }
        case .alternate(let count):
            for _ in 0..<count { sum += PolyaGamma.alternate(&proposal, random: random) }
        }
        return sum / 4
    }
}

/// The Pólya-Gamma draws themselves (docs/math.md, eqs. 84-87); `PolyaGammaSampler` composes them.
public enum PolyaGamma {
    /// One draw of ω ~ PG(b, z) (`PolyaGammaSampler(b:)` once, then `draw(z:random:)`).
    public static func draw(b: Double, z: Double, random: RandomStream) -> Double {
        PolyaGammaSampler(b: b).draw(z: z, random: random)
    }

    /// One draw of ω ~ PG(1, z) (Devroye's method, eq. 85).
    public static func draw(z: Double, random: RandomStream) -> Double {
        precondition(z.isFinite, "PG(1, z) needs a finite z, got \(z)")
        let shape = JacobiShape.devroye
        var proposal = JacobiProposal(shape.constants, table: shape.rightProbabilities, c: abs(z) / 2)
        return devroye(&proposal, random: random) / 4
    }

    /// a_0(x) and the ratio base ρ of Devroye's series at x, t the truncation point:
    /// a_n = a_{n−1} (2n + 1)/(2n − 1) ρ^n (eq. 83).
    @inline(__always)
    static func devroyeSeriesStart(_ x: Double, truncation t: Double) -> (first: Double, rho: Double) {
        if x > t {
            return (Double.pi / 2 * exp(-Double.pi * Double.pi / 8 * x), exp(-Double.pi * Double.pi * x))
        }
        let scaled = 2 / (Double.pi * x)
        return (Double.pi / 2 * scaled * scaled.squareRoot() * exp(-1 / (2 * x)), exp(-4 / x))
    }

    /// J*(1, c) by Devroye's method (eq. 85): the envelope is the first term of the piecewise
    /// series, the left series on x ≤ t and the right series on x > t, and the test runs the same
    /// series. Both sequences a_n decrease from n = 0 on their pieces, so every partial sum
    /// brackets the density (eq. 84).
    ///
    /// The test's first step accepts when U a_0 ≤ a_0 − a_1, and a_1 = 3ρ a_0 ≤ 0.0058 a_0 with
    /// t = 0.64 (ρ = e^{−4/x} ≤ e^{−6.25} on x ≤ t, ρ = e^{−π²x} < e^{−6.31} on x > t), so every
    /// U below `certainAcceptance` is accepted there whatever x is: such a draw returns before a_0
    /// and ρ are computed (two exponentials), with the decision the series would take (for x in
    /// [10⁻³, 500], where a_0 is a normal number and every rounding is relative, ~10⁻¹⁶).
    static func devroye(_ proposal: inout JacobiProposal, random: RandomStream) -> Double {
        let t = proposal.truncation
        while true {
            let x = proposal.draw(random: random)
            let u = random.uniform()
            if u < certainAcceptance && x >= 1e-3 && x <= 500 { return x }
            let (first, rho) = devroyeSeriesStart(x, truncation: t)
            if seriesAccepts(bound: u * first, first: first, monotone: true,
                             ratio: { n, power in (2 * n + 1) / (2 * n - 1) * power }, base: rho) {
                return x
            }
        }
    }

    /// Uniforms below this are accepted by the first step of Devroye's test (`devroye`): below
    /// 1 − 3 max(e^{−4/t}, e^{−π²t}) = 0.9942 at t = 0.64, with room for rounding.
    static let certainAcceptance = 0.99

    /// J*(h, c), 1 ≤ h ≤ 4, by the alternate method (eq. 86): the envelope is a_0^L(x | h) on
    /// x ≤ t(h) and the gamma kernel k_R(x | h) on x > t(h); the test runs the left series,
    /// whose terms rise and then fall, bracketing the density from the first fall on.
    ///
    /// On x ≤ t(h) the envelope is a_0 and the first step of the test accepts when
    /// U a_0 ≤ a_0 − a_1, with a_1/a_0 = (h + 2) e^{−2(h+1)/x} ≤ (h + 2) e^{−2(h+1)/t(h)} < 1
    /// (eq. 86's left condition): a U below 1 − that bound is accepted before a_0, the envelope
    /// and the series are computed (a log and three exponentials), and a U below
    /// 1 − (h + 2) e^{−2(h+1)/x} after one exponential; both with a 10⁻⁹ relative margin, for
    /// x ≥ h²/1000, where a_0 is a normal number. The decisions are the series' own.
    static func alternate(_ proposal: inout JacobiProposal, random: RandomStream) -> Double {
        let h = proposal.shape.h
        let certain = proposal.shape.certainLeftAcceptance
        while true {
            let x = proposal.draw(random: random)
            let u = random.uniform()
            if x <= proposal.truncation && x >= h * h / 1000 {
                if u < certain { return x }
                if u < (1 - (h + 2) * exp(-2 * (h + 1) / x)) * (1 - 1e-9) { return x }
            }
            let logX = log(x)
            let first = exp(proposal.shape.logLeftConstant - 1.5 * logX - h * h / (2 * x))
            let envelope = x > proposal.truncation
                ? exp(proposal.shape.logRightConstant + (h - 1) * logX - Double.pi * Double.pi / 8 * x)
                : first
            // a_n = a_{n−1} (n + h − 1)/n (2n + h)/(2n + h − 2) e^{−2(2n + h − 1)/x}; the
            // exponential is e^{−2(h − 1)/x} ρ^n with ρ = e^{−4/x}.
            let shift = exp(-2 * (h - 1) / x)
            if seriesAccepts(bound: u * envelope, first: first, monotone: false,
                             ratio: { n, power in (n + h - 1) / n * (2 * n + h) / (2 * n + h - 2) * shift * power },
                             base: exp(-4 / x)) {
                return x
            }
        }
    }

    /// The alternating-series decision of eq. 84: whether `bound` ≤ f(x) = Σ (−1)^n a_n, with
    /// a_0 = `first` and a_n = a_{n−1} · ratio(n, ρ^n). With `monotone`, the terms decrease from
    /// n = 0; otherwise a partial sum is read only once a_n ≤ a_{n−1}, after which the terms keep
    /// decreasing (their ratio decreases in n), so S_n bounds f from below for odd n and from
    /// above for even n. Terminates because the terms go to 0 (and underflow to exactly 0).
    @inline(__always)
    static func seriesAccepts(bound: Double, first: Double, monotone: Bool,
                              ratio: (Double, Double) -> Double, base: Double) -> Bool {
        var sum = first
        var term = first
        var power = 1.0
        var n = 0.0
        while true {
            n += 1
            power *= base
            let previous = term
            term *= ratio(n, power)
            let decreasing = monotone || term <= previous
            if Int(n) & 1 == 1 {
                sum -= term
                if decreasing && bound <= sum { return true }
            } else {
                sum += term
                if decreasing && bound > sum { return false }
            }
        }
    }
}

/// What the envelope of J*(h, ·) needs from h alone (eqs. 85-86): the truncation point and the
/// logarithms of the two kernels' constants. Plain numbers, so a proposal copies them freely.
struct JacobiConstants: Sendable, Hashable {
    /// The shape h, 1 ≤ h ≤ 4.
    let h: Double
    /// The truncation point t: 0.64 for Devroye's method, t(h) for the alternate method.
    let truncation: Double
    /// log of a_0^L(x | h)'s constant, h log 2 + log h − ½ log 2π.
    let logLeftConstant: Double
    /// log of k_R(x | h)'s constant, h log(π/2) − log Γ(h).
    let logRightConstant: Double
    /// log Γ(h).
    let logGamma: Double
    /// (1 − (h + 2) e^{−2(h+1)/t})(1 − 10⁻⁹): on x ≤ t, the alternate method's test accepts any
    /// uniform below this at its first step (`PolyaGamma.alternate`).
    let certainLeftAcceptance: Double
}

/// J*(h, ·)'s constants (eqs. 85-86) and its table of mixture weights, made once per shape.
///
/// Plain values: the table lives in memory that is never freed, one table per distinct (h, t) in
/// the process (`tables`), so a sampler copies, and a draw reads the table, without reference
/// counting (a sampler holding an array was retained and released once per draw), and the chains
/// of one run share their tables. Immutable, hence `@unchecked Sendable`.
struct JacobiShape: @unchecked Sendable {
    /// h, t and the kernels' constants.
    let constants: JacobiConstants
    var h: Double { constants.h }
    /// p_R(c) = w_R/(w_L + w_R) (eq. 86) at c = k/`gridDensity`, k = 0, 1, …, up to the first
    /// value below `tableFloor`. p_R decreases in c (`JacobiProposal`), so the table brackets it
    /// between grid points. Empty once `largestTableCount` tables exist: then every choice
    /// computes p_R.
    let rightProbabilities: UnsafeBufferPointer<Double>

    /// The tables made so far, by (h, t); never freed (a few KB each).
    private nonisolated(unsafe) static var tables: [JacobiConstants: UnsafeBufferPointer<Double>] = [:]
    private static let tablesLock = NSLock()
    /// At most this many tables: beyond them (only for b of many distinct values, such as one-off
    /// `PolyaGamma.draw(b:z:random:)` calls over a range of b) a shape has none.
    static let largestTableCount = 1024

    /// Grid points per unit of c in `rightProbabilities`: a uniform falls between two neighbours
    /// with probability about |dp_R/dc|/32, below 1 % (the only case that computes p_R).
    static let gridDensity = 32.0
    /// The table stops at the first p_R below this (at most one uniform in 10¹² is smaller).
    static let tableFloor = 1e-12
    /// The relative widening of a bracket: p_R is computed to about 10⁻¹³ relative (erfc, exp and
    /// log Q to 10⁻¹⁵ with arguments of order 10²), so a computed p_R between grid points lies
    /// inside the bracket widened by 10⁻⁸.
    static let tableMargin = 1e-8

    /// Devroye's truncation point for h = 1 (Polson, Scott & Windle 2013, eq. 85); any t in
    /// [log 3/π², 4/log 3] is exact, 0.64 is close to where the two kernels cross (2/π).
    static let devroyeTruncation = 0.64

    /// Devroye's J*(1, ·) (eq. 85).
    static let devroye = JacobiShape(h: 1, truncation: devroyeTruncation)

    /// The alternate method's J*(h, ·), truncated where its kernels cross (eq. 86).
    init(h: Double) {
        precondition(h >= 1 && h <= PolyaGammaSampler.largestPiece, "the alternate method needs 1 ≤ h ≤ 4")
        self.init(h: h, truncation: Self.crossingPoint(h: h))
    }

    init(h: Double, truncation: Double) {
        let logGamma = gsl_sf_lngamma(h)
        let constants = JacobiConstants(h: h, truncation: truncation,
                                        logLeftConstant: h * log(2.0) + log(h) - 0.5 * log(2 * Double.pi),
                                        logRightConstant: h * log(Double.pi / 2) - logGamma, logGamma: logGamma,
                                        certainLeftAcceptance: (1 - (h + 2) * exp(-2 * (h + 1) / truncation)) * (1 - 1e-9))
        self.constants = constants
        rightProbabilities = Self.tablesLock.withLock {
            if let known = Self.tables[constants] { return known }
            guard Self.tables.count < Self.largestTableCount else { return UnsafeBufferPointer(start: nil, count: 0) }
            let table = UnsafeBufferPointer(Self.rightProbabilityTable(constants))
            Self.tables[constants] = table
            return table
        }
    }

    /// p_R at c = 0, 1/`gridDensity`, 2/`gridDensity`, … up to the first value below `tableFloor`,
    /// in newly allocated memory.
    private static func rightProbabilityTable(_ shape: JacobiConstants) -> UnsafeMutableBufferPointer<Double> {
        var table: [Double] = []
        repeat {
            let c = Double(table.count) / gridDensity
            table.append(JacobiProposal.probabilityRight(h: shape.h, truncation: shape.truncation, logGamma: shape.logGamma,
                                                         c: c, rate: Double.pi * Double.pi / 8 + c * c / 2))
        } while table.last! >= tableFloor && table.count < 100_000
        let memory = UnsafeMutableBufferPointer<Double>.allocate(capacity: table.count)
        _ = memory.initialize(from: table)
        return memory
    }

    /// The alternate method's truncation point t(h) (eq. 86): the root of
    /// log a_0^L(t | h) = log k_R(t | h), unique for h > 0.88 because the difference increases in
    /// t. Safeguarded Newton iteration inside [0.1, 10], to 10⁻¹² relative; t(1) = 2/π,
    /// t(4) = 4.1279.
    static func crossingPoint(h: Double) -> Double {
        let constant = h * log(2.0) + log(h) - 0.5 * log(2 * Double.pi) - h * log(Double.pi / 2)
            + gsl_sf_lngamma(h)
        func difference(_ t: Double) -> Double {
            constant - (h + 0.5) * log(t) - h * h / (2 * t) + Double.pi * Double.pi / 8 * t
        }
        var lower = 0.1, upper = 10.0
        var t = 0.64 + 1.16 * (h - 1)
        for _ in 0..<100 {
            let value = difference(t)
            if value < 0 { lower = t } else { upper = t }
            let slope = Double.pi * Double.pi / 8 - (h + 0.5) / t + h * h / (2 * t * t)
            var next = t - value / slope
            if !(next > lower && next < upper) { next = (lower + upper) / 2 }
            if abs(next - t) <= 1e-12 * t { return next }
            t = next
        }
        return t
    }
}

/// The proposal of J*(h, c) on both sides of the truncation point t (eqs. 85-87), with the
/// factor 2^h cosh^h(c) e^{−c²x/2} common to target and envelope left out: a mixture of
/// IG(h/c, h²) truncated to (0, t] (weight w_L) and Gamma(h, rate λ), λ = π²/8 + c²/2,
/// truncated to (t, ∞) (weight w_R).
///
/// The mixture's choice compares a uniform u with p_R = w_R/(w_L + w_R), which costs two erfc
/// (and log Q(h, λt) for h > 1). It is decided from the shape's table of p_R first
/// (`JacobiShape.rightProbabilities`, eq. 86): p_R decreases in c, so between two grid points it
/// lies between their values, and only a u inside that bracket (widened by 10⁻⁸ relative, far
/// beyond the rounding of either value) needs p_R at c itself. Every decision is the one the
/// computed p_R gives: the same draws, bit for bit.
struct JacobiProposal {
    /// h, t and the kernels' constants.
    let shape: JacobiConstants
    /// The shape's `rightProbabilities`, borrowed for the draw.
    let table: UnsafeBufferPointer<Double>
    /// The tilt c = |z|/2.
    let c: Double
    /// λ = π²/8 + c²/2, the right piece's gamma rate.
    let rate: Double
    /// w_R/(w_L + w_R) once computed (NaN until then): only a u in the table's bracket needs it.
    private var computedProbabilityRight = Double.nan

    var truncation: Double { shape.truncation }

    @inline(__always)
    init(_ shape: JacobiConstants, table: UnsafeBufferPointer<Double>, c: Double) {
        self.shape = shape
        self.table = table
        self.c = c
        rate = Double.pi * Double.pi / 8 + c * c / 2
    }

    /// w_R/(w_L + w_R) at this c (eq. 86).
    var probabilityRight: Double {
        Self.probabilityRight(h: shape.h, truncation: shape.truncation, logGamma: shape.logGamma, c: c, rate: rate)
    }

    /// w_R/(w_L + w_R) for J*(h, c) truncated at t, given log Γ(h) and λ = π²/8 + c²/2.
    static func probabilityRight(h: Double, truncation t: Double, logGamma: Double, c: Double, rate: Double) -> Double {
        // Both weights times e^{hc} (eq. 86), which keeps every term of order 1 at most:
        // e^{hc} w_L = Φ((ct − h)/√t) + e^{2hc} Φ(−(ct + h)/√t), the second term at most
        // e^{−(ct − h)²/(2t)} (dropped once e^{2hc} would overflow, where it is below 10⁻⁵⁰⁰⁰);
        // e^{hc} w_R = exp(h log(π/4) − h log λ + hc + log Q(h, λt)).
        let root = t.squareRoot()
        var left = normalCDF((c * t - h) / root)
        if 2 * h * c < 700 { left += exp(2 * h * c) * normalCDF(-(c * t + h) / root) }
        let right = h == 1
            ? Double.pi / (4 * rate) * exp(c - rate * t)
            : exp(h * (log(Double.pi / 4) - log(rate) + c)
                + logUpperGamma(shape: h, x: rate * t, logGamma: logGamma))
        return right / (left + right)
    }

    /// Whether the mixture takes its right piece for the uniform `u`: u < p_R, decided from the
    /// shape's table where it can be (see the type's comment), p_R computed (once) where not.
    @inline(__always)
    mutating func picksRight(_ u: Double) -> Bool {
        let position = c * JacobiShape.gridDensity
        let margin = JacobiShape.tableMargin
        if position < Double(table.count - 1) {
            let k = Int(position)
            if u < table[k + 1] * (1 - margin) { return true }
            if u >= table[k] * (1 + margin) { return false }
        } else if let last = table.last, u >= last * (1 + margin) {
            return false
        }
        if computedProbabilityRight.isNaN { computedProbabilityRight = probabilityRight }
        return u < computedProbabilityRight
    }

    /// One draw from the mixture.
    @inline(__always)
    mutating func draw(random: RandomStream) -> Double {
        picksRight(random.uniform()) ? drawRight(random: random) : drawLeft(random: random)
    }

    /// Gamma(h, rate λ) truncated to (t, ∞) (eq. 87): t + Exp(β) accepted with probability
    /// exp((h − 1)[log(x/x*) − x/x* + 1]); exactly t + Exp(λ) for h = 1.
    @inline(__always)
    func drawRight(random: RandomStream) -> Double {
        if shape.h == 1 { return truncation - log(random.uniform()) / rate }
        // β = [(λt − h) + s]/(2t) and x* = (h − 1)/(λ − β) = (λt + h + s)/(2λ),
        // s = √((λt − h)² + 4λt): the second form has no cancellation in λ − β.
        let h = shape.h, t = truncation
        let a = rate * t - h
        let s = (a * a + 4 * rate * t).squareRoot()
        let tailRate = (a + s) / (2 * t)
        let tailMode = (rate * t + h + s) / (2 * rate)
        while true {
            let x = truncation - log(random.uniform()) / tailRate
            let r = x / tailMode
            if log(random.uniform()) <= (shape.h - 1) * (log(r) - r + 1) { return x }
        }
    }

    /// IG(h/c, h²) truncated to (0, t] (eq. 87), as h² times IG(μ, 1) truncated to (0, τ] with
    /// μ = 1/(hc), τ = t/h². For μ > τ (c = 0 included): 1/Y is a χ²₁ draw beyond 1/τ (a normal
    /// tail beyond 1/√τ by Devroye's exponential rejection), accepted with probability
    /// e^{−Y/(2μ²)}; otherwise IG(μ, 1) draws (Michael, Schucany & Haas 1976) until one is ≤ τ.
    @inline(__always)
    func drawLeft(random: RandomStream) -> Double {
        let h2 = shape.h * shape.h
        let tau = truncation / h2
        let tilt = shape.h * c  // 1/μ
        if tilt * tau < 1 {
            while true {
                var e1: Double, e2: Double
                repeat {
                    e1 = -log(random.uniform())
                    e2 = -log(random.uniform())
                } while e1 * e1 > 2 * e2 / tau
                let onePlus = 1 + tau * e1
                let y = tau / (onePlus * onePlus)
                if random.uniform() <= exp(-0.5 * tilt * tilt * y) { return h2 * y }
            }
        }
        let mu = 1 / tilt
        while true {
            let normal = random.standardNormal()
            let a = 0.5 * mu * normal * normal
            var y = mu / (1 + a + (a * (2 + a)).squareRoot())
            if random.uniform() * (mu + y) > mu { y = mu * mu / y }
            if y <= tau { return h2 * y }
        }
    }

    /// Φ(x) = erfc(−x/√2)/2 (libm's erfc: relative accuracy kept in the lower tail).
    static func normalCDF(_ x: Double) -> Double {
        0.5 * erfc(-x * 0.5.squareRoot())
    }

    /// log Q(h, x), the regularized upper incomplete gamma function Γ(h, x)/Γ(h), for h ≥ 1,
    /// x > 0, given log Γ(h); finite for every x (no underflow).
    /// For x > h + 1, the continued fraction Γ(h, x) = e^{−x} x^h / (x + 1 − h − 1(1 − h)/(x + 3 − h − …))
    /// by the modified Lentz method; for x ≤ h + 1, where Q ≥ 0.26 for h ≤ 4, Q = 1 − P with the
    /// series P(h, x) = e^{−x} x^h Σ_n x^n / Γ(h + n + 1). Both to 10⁻¹⁵ relative.
    static func logUpperGamma(shape h: Double, x: Double, logGamma: Double) -> Double {
        if h == 1 { return -x }
        let logPrefactor = -x + h * log(x) - logGamma
        if x > h + 1 {
            let tiny = 1e-300
            var b = x + 1 - h
            var c = 1 / tiny
            var d = 1 / b
            var fraction = d
            for i in 1...500 {
                let an = -Double(i) * (Double(i) - h)
                b += 2
                d = an * d + b
                if abs(d) < tiny { d = tiny }
                c = b + an / c
                if abs(c) < tiny { c = tiny }
                d = 1 / d
                let delta = d * c
                fraction *= delta
                if abs(delta - 1) < 1e-15 { break }
            }
            return logPrefactor + log(fraction)
        }
        var term = 1 / h, sum = 1 / h
        for n in 1...500 {
            term *= x / (h + Double(n))
            sum += term
            if term < 1e-16 * sum { break }
        }
        return log1p(-exp(logPrefactor) * sum)
    }
}
