import ChainIO
import Foundation

/// Posterior summary and convergence diagnostics of one scalar quantity over all chains.
public struct ParameterSummary: Equatable, Sendable {
    public var name: String
    public var mean: Double
    public var standardDeviation: Double
    public var q5: Double
    public var q50: Double
    public var q95: Double
    /// Rank-normalized split-R-hat (`rankNormalizedRHat`).
    public var rhat: Double
    public var essBulk: Double
    public var essTail: Double
    public var mcseMean: Double
    /// ArviZ 0.23.4 / posterior's MCSE of the sd (`mcseSD`).
    public var mcseSD: Double

    /// Computes every statistic from draws laid out chains × draws.
    public init(name: String, chains: [[Double]]) {
        self.name = name
        let pooled = chains.flatMap { $0 }
        let sorted = pooled.contains(where: \.isNaN) ? nil : pooled.sorted()
        self.mean = Diagnostics.mean(pooled)
        self.standardDeviation = Diagnostics.standardDeviation(pooled)
        self.q5 = sorted.map { quantile(sorted: $0, probability: 0.05) } ?? .nan
        self.q50 = sorted.map { quantile(sorted: $0, probability: 0.5) } ?? .nan
        self.q95 = sorted.map { quantile(sorted: $0, probability: 0.95) } ?? .nan
        self.rhat = rankNormalizedRHat(chains)
        self.essBulk = Diagnostics.essBulk(chains)
        self.essTail = Diagnostics.essTail(chains)
        self.mcseMean = Diagnostics.mcseMean(chains)
        self.mcseSD = Diagnostics.mcseSD(chains)
    }
}

/// Health of the NUTS sampler itself, from the `__` columns CmdStan writes.
public struct SamplerStatistics: Equatable, Sendable {
    /// Transitions per chain with `divergent__ == 1`; empty when the column is absent.
    public var divergencesPerChain: [Int]
    /// Transitions per chain with `treedepth__ ≥ maxDepth`; empty when the column is absent.
    public var treeDepthSaturationPerChain: [Int]
    /// `max_depth` from the configuration (CmdStan's default 10 when not stated).
    public var maxDepth: Int
    /// Energy Bayesian fraction of missing information per chain (Betancourt 2016):
    /// Σ (E_i − E_{i−1})² / Σ (E_i − Ē)², the statistic CmdStan's `diagnose` and ArviZ's `bfmi`
    /// compute. Empty when `energy__` is absent; NaN for a chain with constant energy.
    public var energyBFMIPerChain: [Double]

    public var totalDivergences: Int { divergencesPerChain.reduce(0, +) }
    public var totalTreeDepthSaturation: Int { treeDepthSaturationPerChain.reduce(0, +) }

    /// Stan's threshold for a worrying E-BFMI.
    public static let lowEnergyBFMI = 0.3
}

/// Why a set of chains cannot be summarized together.
public enum RunSummaryError: Error, Equatable, CustomStringConvertible {
    case noChains
    case columnsDiffer(path: String, referencePath: String, detail: String)
    case noDraws(path: String)

    public var description: String {
        switch self {
        case .noChains: "no chains to summarize"
        case let .columnsDiffer(path, referencePath, detail): "\(path): columns differ from \(referencePath): \(detail)"
        case let .noDraws(path): "\(path): the file holds no sampling draws"
        }
    }
}

/// Summary of a whole run: one `ParameterSummary` per parameter, sampler statistics, and the
/// warnings a Stan user expects to see.
public struct RunSummary: Sendable {
    public var chainCount: Int
    public var drawsPerChain: Int
    public var parameters: [ParameterSummary]
    public var sampler: SamplerStatistics
    public var warnings: [String]

    /// R-hat above this means the chains have not mixed (Vehtari et al. 2021 recommend 1.01).
    public static let rhatThreshold = 1.01
    /// Bulk and tail ESS should be at least this many per chain (Vehtari et al. 2021: 100 per
    /// chain, i.e. 400 for the default four chains) for R-hat and the MCSEs to be reliable.
    public static let essPerChainThreshold = 100.0

    /// Which columns are parameters: everything except sampler columns (names ending in `__`),
    /// but `lp__` is kept; group-level effects (`r_…`) only when `includeGroupLevel`.
    public static func isSummarized(_ column: String, includeGroupLevel: Bool) -> Bool {
        if column == "lp__" { return true }
        if column.hasSuffix("__") { return false }
        if column.hasPrefix("r_") { return includeGroupLevel }
        return true
    }

    /// Summarizes chains read from Stan CSV files. The files must have the same columns in the
    /// same order. Chains of unequal length (an interrupted run) are cut to the shortest, with a
    /// warning, because R-hat and ESS need equal lengths.
    public init(chains: [StanCSVChain], includeGroupLevel: Bool = false) throws {
        guard let first = chains.first else { throw RunSummaryError.noChains }
        for chain in chains.dropFirst() where chain.columnNames != first.columnNames {
            throw RunSummaryError.columnsDiffer(path: chain.path, referencePath: first.path,
                                               detail: Self.columnDifference(chain.columnNames, first.columnNames))
        }
        if let empty = chains.first(where: { $0.drawCount == 0 }) { throw RunSummaryError.noDraws(path: empty.path) }

        var warnings: [String] = []
        let drawCounts = chains.map(\.drawCount)
        let drawsPerChain = drawCounts.min()!
        if drawCounts.contains(where: { $0 != drawsPerChain }) {
            warnings.append("Chains have unequal numbers of draws (\(drawCounts.map(String.init).joined(separator: ", "))); using the first \(drawsPerChain) of each.")
        }
        func columnChains(_ index: Int) -> [[Double]] {
            chains.map { Array($0.draws[index].prefix(drawsPerChain)) }
        }

        var parameters: [ParameterSummary] = []
        for (index, name) in first.columnNames.enumerated() where Self.isSummarized(name, includeGroupLevel: includeGroupLevel) {
            parameters.append(ParameterSummary(name: name, chains: columnChains(index)))
        }

        let maxDepth = first.config["max_depth"].flatMap { Int($0) } ?? 10
        let divergent = first.columnNames.firstIndex(of: "divergent__").map(columnChains)
        let treeDepth = first.columnNames.firstIndex(of: "treedepth__").map(columnChains)
        let energy = first.columnNames.firstIndex(of: "energy__").map(columnChains)
        let sampler = SamplerStatistics(
            divergencesPerChain: divergent?.map { chain in chain.filter { $0 == 1 }.count } ?? [],
            treeDepthSaturationPerChain: treeDepth?.map { chain in chain.filter { $0 >= Double(maxDepth) }.count } ?? [],
            maxDepth: maxDepth,
            energyBFMIPerChain: energy?.map(Self.energyBFMI) ?? [])

        warnings += Self.warnings(parameters: parameters, sampler: sampler, chainCount: chains.count, drawsPerChain: drawsPerChain)
        self.chainCount = chains.count
        self.drawsPerChain = drawsPerChain
        self.parameters = parameters
        self.sampler = sampler
        self.warnings = warnings
    }

    /// E-BFMI of one chain's energies.
    public static func energyBFMI(_ energy: [Double]) -> Double {
        guard energy.count > 1 else { return .nan }
        let center = mean(energy)
        var numerator = 0.0
        var denominator = 0.0
        for index in energy.indices {
            denominator += (energy[index] - center) * (energy[index] - center)
            if index > 0 { numerator += (energy[index] - energy[index - 1]) * (energy[index] - energy[index - 1]) }
        }
        return denominator > 0 ? numerator / denominator : .nan
    }

    static func warnings(parameters: [ParameterSummary], sampler: SamplerStatistics, chainCount: Int, drawsPerChain: Int) -> [String] {
        var warnings: [String] = []
        func list(_ items: [ParameterSummary], _ value: (ParameterSummary) -> Double) -> String {
            items.map { "\($0.name) (\(formatted(value($0))))" }.joined(separator: ", ")
        }
        let highRhat = parameters.filter { $0.rhat > rhatThreshold }
        if !highRhat.isEmpty {
            warnings.append("R-hat above \(formatted(rhatThreshold)) for \(highRhat.count) parameter(s): \(list(highRhat, \.rhat)). The chains have not mixed; run longer or reparameterize.")
        }
        let undefined = parameters.filter { $0.rhat.isNaN }
        if !undefined.isEmpty {
            warnings.append("R-hat and ESS undefined (constant or non-finite draws, or too few draws) for: \(undefined.map(\.name).joined(separator: ", ")).")
        }
        let essThreshold = essPerChainThreshold * Double(chainCount)
        let lowBulk = parameters.filter { $0.essBulk < essThreshold }
        if !lowBulk.isEmpty {
            warnings.append("Bulk ESS below \(Int(essThreshold)) (100 per chain) for \(lowBulk.count) parameter(s): \(list(lowBulk, \.essBulk)). Posterior means and medians may be unreliable.")
        }
        let lowTail = parameters.filter { $0.essTail < essThreshold }
        if !lowTail.isEmpty {
            warnings.append("Tail ESS below \(Int(essThreshold)) (100 per chain) for \(lowTail.count) parameter(s): \(list(lowTail, \.essTail)). Posterior 5% and 95% quantiles may be unreliable.")
        }
        let transitions = chainCount * drawsPerChain
        func perChain(_ counts: [Int]) -> String {
            counts.enumerated().map { "chain \($0.offset + 1): \($0.element)" }.joined(separator: ", ")
        }
        if sampler.totalDivergences > 0 {
            warnings.append("\(sampler.totalDivergences) of \(transitions) transitions ended with a divergence (\(percent(sampler.totalDivergences, transitions)); \(perChain(sampler.divergencesPerChain))). Increase adapt_delta or reparameterize.")
        }
        if sampler.totalTreeDepthSaturation > 0 {
            warnings.append("\(sampler.totalTreeDepthSaturation) of \(transitions) transitions hit the maximum tree depth of \(sampler.maxDepth) (\(percent(sampler.totalTreeDepthSaturation, transitions)); \(perChain(sampler.treeDepthSaturationPerChain))). Increase max_depth.")
        }
        for (chain, value) in sampler.energyBFMIPerChain.enumerated() where value < SamplerStatistics.lowEnergyBFMI {
            warnings.append("Chain \(chain + 1): E-BFMI = \(formatted(value)) is below \(formatted(SamplerStatistics.lowEnergyBFMI)); the sampler explores the energy distribution poorly. Reparameterize.")
        }
        return warnings
    }

    static func percent(_ count: Int, _ total: Int) -> String {
        String(format: "%.1f%%", 100 * Double(count) / Double(max(total, 1)))
    }

    static func formatted(_ value: Double) -> String {
        value.isNaN ? "NA" : String(format: "%.3g", value)
    }

    static func columnDifference(_ columns: [String], _ reference: [String]) -> String {
        let missing = reference.filter { !columns.contains($0) }
        let extra = columns.filter { !reference.contains($0) }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing \(missing.prefix(5).joined(separator: ", "))") }
        if !extra.isEmpty { parts.append("extra \(extra.prefix(5).joined(separator: ", "))") }
        if parts.isEmpty { parts.append("same names in a different order") }
        return parts.joined(separator: "; ")
    }
}
