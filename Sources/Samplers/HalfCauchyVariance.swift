/// The Gibbs update of a variance v = s² whose SD s has a half-Cauchy(0, A) prior, given
/// `count` independent N(0, v) terms with sum of squares `sumOfSquares` (docs/math.md, eq. 22-23).
///
/// Uses the inverse-gamma mixture of Makalic & Schmidt (2016): s² | a ~ IG(1/2, 1/a) with
/// a ~ IG(1/2, 1/A²) gives s ~ half-Cauchy(0, A). The conditionals are then
///
///   a | v  ~ IG(1, 1/A² + 1/v),
///   v | a  ~ IG((count + 1)/2, sumOfSquares/2 + 1/a).
///
/// The auxiliary a is part of the sampler's state; drawing it first from its conditional makes
/// the starting value of a irrelevant.
public struct HalfCauchyVariance: Sendable, Equatable {
    /// The half-Cauchy scale A.
    public let scale: Double
    /// The auxiliary variable a (depends: the last variance drawn).
    public var auxiliary: Double

    public init(scale: Double) {
        precondition(scale > 0 && scale.isFinite)
        self.scale = scale
        auxiliary = scale * scale
    }

    /// One Gibbs step on (a, v): draws a | `variance`, then returns a draw of v | a.
    public mutating func update(variance: Double, count: Int, sumOfSquares: Double, random: RandomStream) -> Double {
        auxiliary = Self.inverseGamma(shape: 1, rate: 1 / (scale * scale) + 1 / variance, random: random)
        return Self.inverseGamma(shape: (Double(count) + 1) / 2, rate: sumOfSquares / 2 + 1 / auxiliary, random: random)
    }

    /// Rejected proposals after which `exactVariance` gives up.
    public static let maximumRejections = 50

    /// A draw of v | SS with the auxiliary variable integrated out (docs/math.md, eq. 119): w =
    /// 1/v ~ Gamma((count − 1)/2, rate SS/2), accepted with probability A²w/(1 + A²w), the
    /// half-Cauchy's factor 1/(1 + v/A²). Nil when count < 2 (no proper proposal), SS is not
    /// positive, or `maximumRejections` proposals in a row are rejected (v ≫ A², where the
    /// acceptance rate is about A²(count − 1)/SS); the caller then takes `update`'s step. Whether
    /// it is nil does not depend on the current v, so either way the step leaves v | SS invariant.
    public static func exactVariance(scale: Double, count: Int, sumOfSquares: Double, random: RandomStream) -> Double? {
        guard count >= 2, sumOfSquares > 0, sumOfSquares.isFinite else { return nil }
        let squaredScale = scale * scale
        for _ in 0..<maximumRejections {
            let precision = random.gamma(shape: Double(count - 1) / 2, scale: 2 / sumOfSquares)
            guard precision > 0, precision.isFinite else { return nil }
            let product = squaredScale * precision
            if random.uniform() * (1 + product) < product { return 1 / precision }
        }
        return nil
    }

    /// Draws from v | SS besides the current v in `overrelaxedVariance`.
    public static let overrelaxationDraws = 10

    /// Ordered overrelaxation of v | SS (Neal 1998, "Suppressing random walks in Markov chain
    /// Monte Carlo using ordered overrelaxation"; docs/math.md, eq. 120): K = `overrelaxationDraws`
    /// independent draws of `exactVariance`, sorted together with the current v; if v is r-th
    /// from the bottom of the K + 1, the value r-th from the top is returned. The step leaves
    /// v | SS invariant and moves v to the far side of its conditional, so that τ does not
    /// random-walk against b. Nil where any of the K draws is (which depends on SS only, not on
    /// v), and the caller then takes the plain step.
    public static func overrelaxedVariance(current: Double, scale: Double, count: Int, sumOfSquares: Double,
                                           random: RandomStream) -> Double? {
        var draws: [Double] = []
        draws.reserveCapacity(overrelaxationDraws + 1)
        for _ in 0..<overrelaxationDraws {
            guard let draw = exactVariance(scale: scale, count: count, sumOfSquares: sumOfSquares, random: random) else { return nil }
            draws.append(draw)
        }
        let rank = draws.reduce(0) { $1 < current ? $0 + 1 : $0 }
        draws.append(current)
        draws.sort()
        return draws[overrelaxationDraws - rank]
    }

    /// IG(α, β), density ∝ x^(−α−1) e^(−β/x): the reciprocal of a Gamma(α, scale 1/β) draw.
    public static func inverseGamma(shape: Double, rate: Double, random: RandomStream) -> Double {
        1 / random.gamma(shape: shape, scale: 1 / rate)
    }
}
