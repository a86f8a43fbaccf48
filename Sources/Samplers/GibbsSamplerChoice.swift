import Linalg
import ModelSpec

/// `mixmc sample --algorithm auto` for a Gaussian model: the blocked Gibbs sampler or the
/// collapsed one (`CollapsedCrossedGibbs`), whichever sweep the cost model prices lower, and why
/// (docs/decisions.md, "--algorithm auto: the cost model"; its constants are measured in
/// docs/benchmarks.md, "Which Gibbs sampler: measured at both ends").
///
/// Both samplers move about as far per sweep on the designs measured (bulk ESS per draw of the
/// slowest parameter: InstEval 0.36 blocked against 0.87 collapsed, sim_crossed ~0.9 both), so the
/// cheaper sweep is the faster sampler. A blocked sweep factorizes the cross-products: its cost
/// is the dense part's Cholesky and its downdate by the first term's groups (the fill-in), flat in
/// the rows. A collapsed sweep reads the rows once per *large* term (the terms outside its dense
/// budget, `CollapsedCrossedGibbs.smallTerms`) and factorizes only a small dense block.
public struct GibbsSamplerChoice: Sendable, Equatable {
    public enum Sampler: Sendable, Equatable {
        case blocked
        case collapsed
    }

    public var sampler: Sampler
    /// One line for the run header: the figures the choice was made on.
    public var reason: String

    /// The shape of a design as the cost model reads it.
    public struct Shape: Sendable, Equatable {
        public var rows: Int
        /// Per random-effects term: its levels and its coefficients per level.
        public var levelCounts: [Int]
        public var termSizes: [Int]
        public var fixedCount: Int
        /// The blocked factor's layout (dense order, the first term's groups and their patterns).
        public var layout: BlockedLayout

        public init(rows: Int, levelCounts: [Int], termSizes: [Int], fixedCount: Int, layout: BlockedLayout) {
            self.rows = rows
            self.levelCounts = levelCounts
            self.termSizes = termSizes
            self.fixedCount = fixedCount
            self.layout = layout
        }

        public init(design: Design) {
            self.init(rows: design.observationCount, levelCounts: design.terms.map(\.levelCount),
                      termSizes: design.terms.map(\.size), fixedCount: design.fixedCount, layout: design.crossProducts.layout)
        }

        var effectCount: Int { zip(levelCounts, termSizes).reduce(0) { $0 + $1.0 * $1.1 } }
        var everyTermScalar: Bool { termSizes.allSatisfy { $0 == 1 } }
    }

    /// Seconds per floating-point operation of the dense part's Cholesky factorization (OpenBLAS
    /// `dpotrf` and the products around it): about 1/(30 GFLOP/s), from InstEval's 19 ms sweep,
    /// nearly all of it the factorization of order 1,159.
    static let blockedSecondsPerDenseFlop = 1.0 / 30e9
    /// Seconds per floating-point operation of the downdate by the first term's groups: a
    /// scattered pattern goes through an indexed loop, about 1/(5 GFLOP/s) (sim_crossed's 0.4 ms
    /// sweep, two thirds of it the downdate by 200 groups of ~100 rows).
    static let blockedSecondsPerDowndateFlop = 1.0 / 5e9
    /// Seconds per random effect of the blocked sweep's other loops (loading, back-substitution,
    /// the first term's marginal steps, covariance steps): sim_medium's 2,000 effects.
    static let blockedSecondsPerEffect = 1e-7
    /// Seconds per row and pass of a collapsed sweep: sim_crossed's two passes over 30,000 rows
    /// and InstEval's over 73,421.
    static let collapsedSecondsPerRowPass = 2.5e-9
    /// Seconds per random effect of the collapsed sweep's per-level loops (Schur complement,
    /// level draws).
    static let collapsedSecondsPerEffect = 5e-8
    /// Seconds per floating-point operation of the collapsed sweep's small dense factorizations
    /// (Swift loops on blocks of order p + the small terms' levels, about 1 GFLOP/s).
    static let collapsedSecondsPerDenseFlop = 1e-9

    /// Seconds of one blocked sweep.
    static func blockedSeconds(_ shape: Shape) -> Double {
        shape.layout.denseFactorizationFlops * blockedSecondsPerDenseFlop + shape.layout.downdateFlops * blockedSecondsPerDowndateFlop
            + Double(shape.effectCount) * blockedSecondsPerEffect
    }

    /// The collapsed sweep's passes over the rows (one per large term, one at least) and its
    /// seconds.
    static func collapsedCost(_ shape: Shape) -> (passes: Int, seconds: Double) {
        let small = CollapsedCrossedGibbs.smallTerms(levelCounts: shape.levelCounts, budget: CollapsedCrossedGibbs.defaultDenseLevelBudget)
        let passes = max(1, shape.levelCounts.count - small.count)
        let m = Double(shape.fixedCount + small.reduce(0) { $0 + shape.levelCounts[$1] })
        // Per block: the Cholesky of w's precision and one per slice evaluation of each small
        // term's τ (eq. 62; about six).
        let denseFlops = Double(passes) * Double(1 + 6 * small.count) * m * m * m / 3
        let seconds = Double(shape.rows * passes) * collapsedSecondsPerRowPass
            + Double(shape.effectCount) * collapsedSecondsPerEffect + denseFlops * collapsedSecondsPerDenseFlop
        return (passes, seconds)
    }

    /// The choice for a Gaussian design.
    public init(design: Design) {
        self.init(shape: Shape(design: design))
    }

    public init(shape: Shape) {
        guard shape.everyTermScalar else {
            // Over the factor's budget too, the blocked sampler refuses the design itself.
            self.init(sampler: .blocked, reason: "a random-effects term has more than one coefficient, which only the blocked sampler handles")
            return
        }
        let d = shape.layout.denseDimension
        let blocked = Self.blockedSeconds(shape)
        let collapsed = Self.collapsedCost(shape)
        let figures = "a collapsed sweep reads the \(shape.rows) rows \(collapsed.passes == 1 ? "once" : "\(collapsed.passes) times") "
            + "(about \(Self.milliseconds(collapsed.seconds)) ms), a blocked sweep factorizes a dense part of order \(d)"
        if let overBudget = BlockedFactorBudget.standard.excess(shape.layout) {
            self.init(sampler: .collapsed, reason: "every term is scalar and the blocked sampler cannot run it: \(overBudget)")
        } else if collapsed.seconds < blocked {
            self.init(sampler: .collapsed, reason: "every term is scalar and \(figures) (about \(Self.milliseconds(blocked)) ms)")
        } else {
            self.init(sampler: .blocked, reason: "\(figures) (about \(Self.milliseconds(blocked)) ms)")
        }
    }

    init(sampler: Sampler, reason: String) {
        self.sampler = sampler
        self.reason = reason
    }

    /// Milliseconds with three significant digits at most (0.0731, 0.56, 19.2, 1230).
    static func milliseconds(_ seconds: Double) -> String {
        let value = seconds * 1000
        var digits = 0
        var scaled = value
        while scaled < 100 && digits < 4 { scaled *= 10; digits += 1 }
        let rounded = scaled.rounded() / pow10(digits)
        return digits == 0 ? String(Int(rounded)) : String(rounded)
    }

    private static func pow10(_ exponent: Int) -> Double {
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }
}

extension GibbsError {
    /// What runs a design whose blocked factor is over the budget: collapsed Gibbs, which needs
    /// no such factor, for a Gaussian model whose terms are single coefficients.
    public static func insteadOfTheBlockedFactor(_ design: Design) -> String {
        guard design.family.isGaussian else {
            return "no sampler of mixmc runs a \(design.family) model this large: the collapsed Gibbs sampler, which needs no such factor, is for Gaussian models; group fewer levels"
        }
        guard design.terms.allSatisfy({ $0.size == 1 }) else {
            return "only the collapsed Gibbs sampler (--algorithm collapsed-gibbs) avoids the dense factor, and it needs every random-effects term to be a single coefficient: write a vector term as uncorrelated ones, (x || g), or group fewer levels"
        }
        return "use --algorithm collapsed-gibbs (what the default --algorithm auto picks here): it reads the rows instead of factorizing"
    }
}
