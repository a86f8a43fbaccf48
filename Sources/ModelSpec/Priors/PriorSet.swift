import Foundation
import Linalg

/// β ~ Normal(mean, sd).
public struct NormalPrior: Sendable, Equatable {
    public var mean: Double
    public var sd: Double

    public init(mean: Double, sd: Double) {
        self.mean = mean
        self.sd = sd
    }
}

/// The priors of a Bayesian linear mixed model, resolved against its design (docs/priors.md):
///
/// - β_j ~ Normal(mean_j, sd_j), one per column of X;
/// - σ (residual SD) ~ half-Cauchy(0, `sigmaScale`);
/// - τ_jk (SD of coefficient k of random-effects term j) ~ half-Cauchy(0, `tauScales[j][k]`);
/// - the correlation matrix of term j ~ LKJ(`lkjEta[j]`) (ignored for terms with one coefficient).
///
/// Every array follows the design's order (X columns; terms in `Design.terms` order, coefficients
/// in `RandomEffectsTerm.coefficientNames` order), so a sampler indexes them like θ.
public struct PriorSet: Sendable, Equatable {
    /// One per X column, in design order.
    public var fixed: [NormalPrior]
    /// half-Cauchy(0, scale) on σ.
    public var sigmaScale: Double
    /// Per design term (design order), per coefficient: half-Cauchy(0, scale) on that SD.
    public var tauScales: [[Double]]
    /// Per design term: LKJ(eta) on its correlation matrix (1 for terms with one coefficient).
    public var lkjEta: [Double]

    public init(fixed: [NormalPrior], sigmaScale: Double, tauScales: [[Double]], lkjEta: [Double]) {
        self.fixed = fixed
        self.sigmaScale = sigmaScale
        self.tauScales = tauScales
        self.lkjEta = lkjEta
    }
}

// MARK: - Defaults

extension PriorSet {
    /// Weakly informative defaults scaled to the data (docs/priors.md, "Defaults").
    ///
    /// With s_y the SD of the response (1 when it is 0 or not finite), m_y its mean and s_j the SD
    /// of a column (of X or of a term's Z):
    ///
    /// - `(Intercept)` ~ Normal(m_y, 10 s_y √(1 + Σ_j (x̄_j / s_j)²)), the sum over the other
    ///   non-constant columns of X. This is the prior that brms's choice — a prior on the intercept
    ///   of *centered* predictors, centered at the data — implies for our uncentered intercept when
    ///   the centered intercept is Normal(m_y, 10 s_y) and the slopes are independent
    ///   Normal(0, 10 s_y / s_j): β₀ = α − Σ β_j x̄_j.
    /// - other β_j ~ Normal(0, 10 s_y / s_j): a change of one SD of x_j moves y by at most about
    ///   ten SDs of y, whatever the units of x_j (10 s_y for a constant column).
    /// - Without an intercept the coefficients carry the level of y, so the scale is the root mean
    ///   square of y, r_y = √(m_y² + s_y²), in place of s_y.
    /// - σ ~ half-Cauchy(0, s_y): the residual SD is at most the total SD; the Cauchy tail leaves
    ///   room for data that contradicts that.
    /// - τ_jk ~ half-Cauchy(0, s_y / s_k), with s_k the SD of the term's column k over the
    ///   observations (s_y for a constant column such as the intercept): the random effect b·z_k
    ///   adds τ² s_k² to the variance of y, so this is the σ rule made free of the units of z_k.
    /// - LKJ(1): uniform over correlation matrices.
    ///
    /// A binomial or Poisson model has no σ and its coefficients live on the link scale, where a
    /// unit is already large (a logit of 1 is an odds ratio of 2.7): the same rules with m_y = 0
    /// and s_y = 1 for β (Normal(0, 10 √(…)) for the intercept, Normal(0, 10 / s_j) for slopes),
    /// and τ_jk ~ half-Cauchy(0, 5 / s_k), the scale the Stan references of docs/benchmarks.md
    /// use for the SDs. `sigmaScale` is then 1 and unused.
    public static func defaults(for design: Design) -> PriorSet {
        let hasDispersion = design.family.hasDispersion
        let spread = hasDispersion ? responseSpread(design.response) : (mean: 0, sd: 1)
        let tauSpread = hasDispersion ? spread.sd : 5
        let fixedColumns = design.fixed.columnNames
        let hasIntercept = fixedColumns.contains(Self.interceptName)
        let fixedScale = 10 * (hasIntercept ? spread.sd : (spread.mean * spread.mean + spread.sd * spread.sd).squareRoot())

        let columnMoments = fixedColumns.indices.map { moments(ofColumn: $0, design.fixed.matrix) }
        var interceptInflation = 1.0
        var fixed: [NormalPrior] = []
        for (j, name) in fixedColumns.enumerated() where name != Self.interceptName && columnMoments[j].sd > 0 {
            let ratio = columnMoments[j].mean / columnMoments[j].sd
            interceptInflation += ratio * ratio
        }
        for (j, name) in fixedColumns.enumerated() {
            if name == Self.interceptName {
                fixed.append(NormalPrior(mean: spread.mean, sd: fixedScale * interceptInflation.squareRoot()))
            } else {
                let sd = columnMoments[j].sd
                fixed.append(NormalPrior(mean: 0, sd: sd > 0 ? fixedScale / sd : fixedScale))
            }
        }
        let tauScales = design.terms.map { term in
            (0..<term.size).map { k -> Double in
                let sd = moments(ofColumn: k, term.modelRows).sd
                return sd > 0 ? tauSpread / sd : tauSpread
            }
        }
        return PriorSet(fixed: fixed, sigmaScale: spread.sd, tauScales: tauScales,
                        lkjEta: Array(repeating: 1, count: design.terms.count))
    }

    /// The intercept's coefficient name as lme4 prints it.
    static let interceptName = "(Intercept)"

    /// m_y and s_y of the response; s_y = 1 when the SD is 0, undefined (n < 2) or not finite, and
    /// m_y = 0 when the mean is not finite.
    static func responseSpread(_ y: [Double]) -> (mean: Double, sd: Double) {
        let n = Double(y.count)
        guard !y.isEmpty else { return (0, 1) }
        let mean = y.reduce(0, +) / n
        guard y.count > 1 else { return (mean.isFinite ? mean : 0, 1) }
        let variance = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        let sd = variance.squareRoot()
        return (mean.isFinite ? mean : 0, sd.isFinite && sd > 0 ? sd : 1)
    }

    /// Mean and SD (divisor n − 1) of a column; SD 0 for constant or too-short columns, and for
    /// constant columns up to rounding (relative to the mean's size).
    static func moments(ofColumn j: Int, _ matrix: Matrix) -> (mean: Double, sd: Double) {
        let n = matrix.rows
        guard n > 0 else { return (0, 0) }
        var sum = 0.0
        for i in 0..<n { sum += matrix[i, j] }
        let mean = sum / Double(n)
        guard n > 1 else { return (mean, 0) }
        var squares = 0.0
        for i in 0..<n { squares += (matrix[i, j] - mean) * (matrix[i, j] - mean) }
        let sd = (squares / Double(n - 1)).squareRoot()
        let negligible = 1e-12 * max(abs(mean), Double.leastNormalMagnitude)
        return (mean, sd.isFinite && sd > negligible ? sd : 0)
    }
}

// MARK: - Description

extension PriorSet {
    /// Human-readable lines for a run header, in brms's parameter names: `b_Intercept ~ normal(298.5, 1049)`,
    /// `b_Days ~ normal(0, 50)`, `sigma ~ half-cauchy(0, 100)`, `sd_Subject__Days ~ half-cauchy(0, 20)`,
    /// `cor_Subject ~ lkj(2)` (only for terms with more than one coefficient). Numbers have at most
    /// six significant digits.
    public func describe(design: Design) -> [String] {
        // The names are the chain columns' (OutputColumns), so header and columns agree
        // (`b_age_SexMale` for the coefficient `age:SexMale`).
        let columns = OutputColumns(design: design)
        var lines: [String] = []
        for (index, prior) in fixed.enumerated() {
            lines.append("\(columns.names[1 + index]) ~ normal(\(Self.format(prior.mean)), \(Self.format(prior.sd)))")
        }
        var column = 1 + fixed.count
        if design.family.hasDispersion {
            lines.append("sigma ~ half-cauchy(0, \(Self.format(sigmaScale)))")
            column += 1
        }
        for scale in tauScales.joined() {
            lines.append("\(columns.names[column]) ~ half-cauchy(0, \(Self.format(scale)))")
            column += 1
        }
        for (j, (term, eta)) in zip(design.terms, lkjEta).enumerated() where term.size > 1 {
            let group = columns.groups.first { $0.sources.contains { $0.term == j } }!
            lines.append("cor_\(group.columnName) ~ lkj(\(Self.format(eta)))")
        }
        return lines
    }

    /// Six significant digits, without trailing zeros (`50`, `0.25`, `298.508`, `1e+06`).
    static func format(_ value: Double) -> String {
        String(format: "%.6g", value)
    }
}
