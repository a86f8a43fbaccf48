import ChainIO
import Foundation
import ModelSpec
import PenalizedLS

/// The posterior from a set of chains set beside a REML (or ML) fit of the same model, or the
/// Laplace fit of a binomial or Poisson one (`mixmc compare`, docs/compare.md).
///
/// For β, σ, every random-effects SD and correlation: the REML estimate (± its SE for β), the
/// posterior mean, median, mode (`kernelDensityMode`), SD and 95% interval (2.5% and 97.5% type-7
/// quantiles of the pooled draws), and (posterior mean − REML) / posterior SD. Mean, median and SD
/// are `ParameterSummary`'s, so they equal `mixmc diagnose`'s for the same chains. For the random
/// effects, per term and coefficient: the conditional modes b̂ against the posterior means of
/// b (the `r_` columns), their correlation and their largest absolute difference.
public struct BayesREMLComparison: Sendable {
    public enum Kind: String, Sendable { case fixed, sigma, sd, cor }

    /// One scalar parameter.
    public struct Row: Sendable {
        /// The chain column (`b_Days`, `sigma`, `sd_Subject__Days`, `cor_Subject__Intercept__Days`).
        public let name: String
        public let kind: Kind
        /// The lme4-style description (`Days`, `Subject (Intercept)`, `Subject (Intercept),Days`).
        public let label: String
        /// REML (or ML) estimate.
        public let estimate: Double
        /// Its standard error (β only; nil otherwise).
        public let standardError: Double?
        public let mean: Double
        public let median: Double
        public let mode: Double
        public let sd: Double
        public let q2_5: Double
        public let q97_5: Double
        public let rhat: Double
        public let essBulk: Double
        /// (posterior mean − estimate) / posterior SD.
        public var standardizedDifference: Double { (mean - estimate) / sd }
    }

    /// Conditional modes against posterior means for one coefficient of one term.
    public struct Shrinkage: Sendable {
        public let group: String
        public let coefficient: String
        public let levels: [String]
        /// b̂ per level (REML conditional modes).
        public let conditionalModes: [Double]
        /// Posterior mean of b per level.
        public let posteriorMeans: [Double]
        /// Pearson correlation of the two (NaN when either is constant).
        public let correlation: Double
        /// max_h |posterior mean − b̂| and the level where it occurs.
        public let largestDifference: Double
        public let largestDifferenceLevel: String
    }

    /// The point estimates a comparison sets the posterior beside: a REML or ML fit of a linear
    /// mixed model, or the Laplace (or AGQ) fit of a binomial or Poisson one (no σ).
    public struct Estimates: Sendable {
        /// The table's name for the estimates (`REML`, `ML`, `Laplace`) and the JSON `method`.
        public let name: String
        public let fixedEffects: [MixedModelFit.FixedEffect]
        /// σ; nil for a family without one.
        public let sigma: Double?
        public let varianceComponents: [MixedModelFit.VarianceComponent]
        public let randomEffects: [MixedModelFit.RandomEffects]

        public init(_ fit: MixedModelFit) {
            name = fit.method.rawValue
            fixedEffects = fit.fixedEffects
            sigma = fit.sigma
            varianceComponents = fit.varianceComponents
            randomEffects = fit.randomEffects
        }

        public init(_ fit: GeneralizedMixedModelFit) {
            name = fit.method.name
            fixedEffects = fit.fixedEffects
            sigma = nil
            varianceComponents = fit.varianceComponents
            randomEffects = fit.randomEffects
        }
    }

    /// What the estimates are called (`REML`, `ML`, `Laplace`, `AGQ`, `PQL`).
    public let estimateName: String
    public let chainCount: Int
    public let drawsPerChain: Int
    public let rows: [Row]
    public let randomEffects: [Shrinkage]

    /// - Parameters:
    ///   - fit: the REML, ML or Laplace fit of `design`.
    ///   - chains: chains of the same model (`mixmc sample`'s columns, `OutputColumns(design:)`).
    ///     Chains of unequal length are cut to the shortest, as `RunSummary` does.
    public init(fit: Estimates, design: Design, chains: [StanCSVChain]) throws(ComparisonError) {
        guard let first = chains.first else { throw .noChains }
        let columns = OutputColumns(design: design)
        for chain in chains {
            let missing = columns.names.filter { !chain.columnNames.contains($0) }
            if !missing.isEmpty {
                throw .columnsDoNotMatch(path: chain.path, missing: missing)
            }
        }
        let drawsPerChain = chains.map(\.drawCount).min()!
        guard drawsPerChain > 0 else { throw .noDraws(path: first.path) }
        func columnChains(_ name: String) -> [[Double]] {
            chains.map { chain in Array(chain.draws[chain.columnNames.firstIndex(of: name)!].prefix(drawsPerChain)) }
        }

        // Estimates in the order OutputColumns lays out the columns: β, σ, SDs term by term,
        // correlations term by term in brms's pair order.
        var estimates: [(kind: Kind, label: String, estimate: Double, se: Double?, bounds: (Double, Double))] = []
        for effect in fit.fixedEffects {
            estimates.append((.fixed, effect.name, effect.estimate, effect.standardError, (-.infinity, .infinity)))
        }
        if let sigma = fit.sigma { estimates.append((.sigma, "Residual", sigma, nil, (0, .infinity))) }
        for component in fit.varianceComponents {
            for (c, name) in component.names.enumerated() {
                estimates.append((.sd, "\(component.group) \(name)", component.standardDeviations[c], nil, (0, .infinity)))
            }
        }
        for component in fit.varianceComponents where component.names.count > 1 {
            let k = component.names.count
            for c in 1..<k { for r in 0..<c {
                estimates.append((.cor, "\(component.group) \(component.names[r]),\(component.names[c])", component.correlations[c][r], nil, (-1, 1)))
            } }
        }
        let scalarNames = Array(columns.names[1..<columns.groupLevelStart])
        precondition(scalarNames.count == estimates.count, "OutputColumns and the fit disagree on the parameters")

        var rows: [Row] = []
        for (name, entry) in zip(scalarNames, estimates) {
            let draws = columnChains(name)
            let summary = ParameterSummary(name: name, chains: draws)
            let pooled = draws.flatMap { $0 }
            rows.append(Row(name: name, kind: entry.kind, label: entry.label, estimate: entry.estimate, standardError: entry.se,
                            mean: summary.mean, median: summary.q50,
                            mode: kernelDensityMode(pooled, lowerBound: entry.bounds.0, upperBound: entry.bounds.1),
                            sd: summary.standardDeviation,
                            q2_5: quantile(pooled, probability: 0.025), q97_5: quantile(pooled, probability: 0.975),
                            rhat: summary.rhat, essBulk: summary.essBulk))
        }

        // Random effects: OutputColumns numbers coefficients across the terms of one grouping
        // factor; the fit lists them per term. Match by (group, coefficient, level).
        var modes: [String: Double] = [:]
        for effects in fit.randomEffects {
            for (h, level) in effects.levels.enumerated() {
                for (c, coefficient) in effects.coefficientNames.enumerated() {
                    modes[Self.key(effects.group, coefficient, level)] = effects.modes[h][c]
                }
            }
        }
        var shrinkage: [Shrinkage] = []
        for group in columns.groups {
            for (c, coefficient) in group.coefficients.enumerated() {
                var conditional: [Double] = []
                var means: [Double] = []
                for (h, level) in group.levels.enumerated() {
                    let name = "r_\(group.columnName).\(h + 1).\(c + 1)"
                    means.append(Diagnostics.mean(columnChains(name).flatMap { $0 }))
                    conditional.append(modes[Self.key(group.groupingName, coefficient, level)] ?? .nan)
                }
                let differences = zip(means, conditional).map { abs($0 - $1) }
                let worst = differences.indices.max { differences[$0] < differences[$1] } ?? 0
                shrinkage.append(Shrinkage(group: group.groupingName, coefficient: coefficient, levels: group.levels,
                                           conditionalModes: conditional, posteriorMeans: means,
                                           correlation: Self.correlation(conditional, means),
                                           largestDifference: differences.isEmpty ? .nan : differences[worst],
                                           largestDifferenceLevel: group.levels.isEmpty ? "" : group.levels[worst]))
            }
        }
        self.estimateName = fit.name
        self.chainCount = chains.count
        self.drawsPerChain = drawsPerChain
        self.rows = rows
        self.randomEffects = shrinkage
    }

    private static func key(_ group: String, _ coefficient: String, _ level: String) -> String {
        "\(group)\u{1}\(coefficient)\u{1}\(level)"
    }

    /// Pearson correlation; NaN when either vector is constant or has fewer than 2 entries.
    static func correlation(_ x: [Double], _ y: [Double]) -> Double {
        guard x.count == y.count, x.count > 1 else { return .nan }
        let mx = Diagnostics.mean(x), my = Diagnostics.mean(y)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        guard sxx > 0, syy > 0 else { return .nan }
        return sxy / (sxx * syy).squareRoot()
    }
}

/// Why chains cannot be compared with a fit.
public enum ComparisonError: Error, Equatable, CustomStringConvertible {
    case noChains
    case noDraws(path: String)
    case columnsDoNotMatch(path: String, missing: [String])

    public var description: String {
        switch self {
        case .noChains: "no chains to compare"
        case .noDraws(let path): "\(path): the file holds no sampling draws"
        case let .columnsDoNotMatch(path, missing):
            "\(path): not a chain of this model: missing column\(missing.count == 1 ? "" : "s") \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", …" : "")"
        }
    }
}
