import ArgumentParser
import ChainIO
import Diagnostics
import Foundation
import Linalg
import ModelSpec
import PenalizedLS
import Samplers

/// One sampling run as `mixmc sample` makes it (priors, output columns, chain files, CmdStan
/// configuration, parallel chains, interruption): `sample` and `compare` both run one, so the same
/// flags give the same draws in either.
struct SamplingJob {
    /// NUTS's settings as given on the command line (nil: the default).
    struct NUTSSettings {
        var target: NUTSTargetOption?
        var adaptDelta: Double?
        var maxDepth: Int?
        var metric: MetricOption?
    }

    /// The chain files and per-chain reports of a run, or the exit status of one that failed or
    /// was interrupted (its messages already printed).
    struct Result {
        var files: [URL]
        var reports: [ChainReport]
        var status: ExitCode?
    }

    var command: String
    var modelPath: String?
    var priorsPath: String?
    var algorithm: SamplingAlgorithm
    var chainIDs: [Int]
    var onlySomeChains: Bool
    var warmup: Int
    /// NUTS only (`Sample.validate` refuses it for the Gibbs samplers).
    var saveWarmup = false
    var draws: Int
    var thin: Int
    var seed: UInt64?
    var nuts: NUTSSettings
    var outputDirectory: String
    var overwrite: Bool
    var quiet: Bool

    /// The Gibbs sampler of a binomial or Poisson model, the fastest exact one for its family
    /// and link (docs/decisions.md, "Gibbs samplers for GLMMs").
    enum GeneralizedGibbs {
        /// Data augmentation makes the model conditionally Gaussian (logit, probit).
        case augmented(AugmentedGibbs.Augmentation)
        /// The log rates as latent variables make a Poisson model with an observation-level
        /// term Gaussian in the rest (`LatentLogRateGibbs`).
        case latentLogRate
        /// Metropolis-Hastings on β and each level of b with Laplace proposals (Poisson, cloglog,
        /// and binomial rows of many trials).
        case irlsProposal

        init(design: Design) {
            if let augmentation = AugmentedGibbs.augmentation(for: design.family), !IRLSProposalGibbs.outpacesAugmentation(design) {
                self = .augmented(augmentation)
            } else {
                self = LatentLogRateGibbs.applies(to: design) ? .latentLogRate : .irlsProposal
            }
        }

        /// The run header's line: which sampler and why.
        func header(family: Family) -> String {
            switch self {
            case .augmented(let augmentation):
                return "sampler: blocked Gibbs after \(augmentation.rawValue) augmentation, the exact sampler for \(family): given the latent variables the model is Gaussian, and (β, b) are drawn jointly through the blocked Cholesky factor (docs/math.md, eq. 100-105)"
            case .latentLogRate:
                return "sampler: blocked Gibbs with the log rates as latent variables, the exact sampler for \(family) with an observation-level term: given them the model is Gaussian with that term as its residual, (β, b) are drawn jointly through the blocked Cholesky factor, and each log rate by a Metropolis-Hastings step from its Laplace approximation (docs/math.md, eq. 112-114)"
            case .irlsProposal:
                let why = AugmentedGibbs.augmentation(for: family) == nil
                    ? "no data augmentation makes it conditionally Gaussian"
                    : "its rows average \(Int(IRLSProposalGibbs.manyTrials)) or more trials, where the augmentation's latent variables cost more and mix slower than Laplace proposals"
                return "sampler: Gibbs with Metropolis-Hastings steps for β and for each random-effects level (proposals from each block's Laplace approximation) and shift moves, the fastest exact sampler for \(family) here: \(why) (docs/math.md, eq. 106-110, 118-120)"
            }
        }

        /// The chain file's comment naming the sampler.
        var configurationName: String {
            switch self {
            case .augmented(let augmentation): "mixmc Gibbs sampler after \(augmentation.rawValue) augmentation"
            case .latentLogRate: "mixmc Gibbs sampler with latent log rates"
            case .irlsProposal: "mixmc Gibbs sampler with Laplace-proposal Metropolis-Hastings steps for beta and each level of b"
            }
        }
    }

    /// The Gibbs sampler of a non-Gaussian family (nil for a Gaussian model); a family and
    /// algorithm that cannot run together are refused, before anything is written, with the
    /// algorithm that can.
    static func checkFamilySupported(design: Design, algorithm: SamplingAlgorithm) throws -> GeneralizedGibbs? {
        let family = design.family
        guard !family.isGaussian else { return nil }
        switch algorithm {
        case .gibbs, .auto:
            return GeneralizedGibbs(design: design)
        case .collapsedGibbs:
            throw ModelOptionsError(message: "--algorithm collapsed-gibbs handles Gaussian models only; this model's family is \(family)",
                                    fix: "use --algorithm gibbs, or the default auto, which runs it: for this family it is \(GeneralizedGibbs(design: design).configurationName.replacingOccurrences(of: "mixmc ", with: "the "))")
        case .nuts:
            return nil
        }
    }

    /// The sampler a run uses: the one named, or for `auto` the family's Gibbs sampler
    /// (`GeneralizedGibbs`, whose header line says why) and for a Gaussian model the blocked or
    /// collapsed one `GibbsSamplerChoice` prices faster, with the header line naming it and why.
    static func chooseAlgorithm(_ algorithm: SamplingAlgorithm, design: Design) -> (algorithm: SamplingAlgorithm, header: String?) {
        guard algorithm == .auto else { return (algorithm, nil) }
        guard design.family.isGaussian else { return (.gibbs, nil) }
        let choice = GibbsSamplerChoice(design: design)
        switch choice.sampler {
        case .blocked: return (.gibbs, "sampler: blocked Gibbs, chosen by --algorithm auto: \(choice.reason)")
        case .collapsed: return (.collapsedGibbs, "sampler: collapsed Gibbs, chosen by --algorithm auto: \(choice.reason)")
        }
    }

    /// Refuses, before anything is written, a sampler that needs the blocked factor (blocked
    /// Gibbs, and NUTS, whose start is the REML or Laplace fit) on a design whose factor is over
    /// `BlockedFactorBudget.standard`.
    static func checkBlockedFactorBudget(design: Design, algorithm: SamplingAlgorithm) throws {
        guard algorithm == .gibbs || algorithm == .nuts,
              let excess = BlockedFactorBudget.standard.excess(design.crossProducts.layout) else { return }
        let instead = GibbsError.insteadOfTheBlockedFactor(design)
        if algorithm == .gibbs { throw GibbsError.blockedFactorOverBudget(excess: excess, instead: instead) }
        throw ModelOptionsError(message: "NUTS cannot run this model: \(excess), in its starting fit and in every gradient", fix: instead)
    }

    /// The NUTS target: as given, else collapsed for Gaussian models and full for binomial and
    /// Poisson models (the only one they have: b integrates out in closed form only under a
    /// Gaussian likelihood).
    func nutsTarget(for design: Design) -> NUTSTargetOption {
        nuts.target ?? (design.family.isGaussian ? .collapsed : .full)
    }

    func run(design: Design) throws -> Result {
        let (algorithm, choiceHeader) = Self.chooseAlgorithm(self.algorithm, design: design)
        let directory = try modelPath.map { try ModelDirectory.load(path: $0) }
        let priorsPath = self.priorsPath ?? directory?.priorsPath
        let priorSet = try priorsPath.map { try PriorSet.load(path: $0, design: design) } ?? PriorSet.defaults(for: design)
        let columns = OutputColumns(design: design)
        let modelName = Sample.modelName(modelPath: modelPath, dataSource: design.dataSource)
        let seed = self.seed ?? UInt64.random(in: 0..<(1 << 31))
        // A model the sampler cannot run is refused before anything is written.
        if algorithm == .collapsedGibbs { try CollapsedCrossedGibbs.checkSupports(design) }
        try Self.checkBlockedFactorBudget(design: design, algorithm: algorithm)
        let generalized = try Self.checkFamilySupported(design: design, algorithm: algorithm)
        if algorithm == .nuts, !design.family.isGaussian, case let form = nutsTarget(for: design).form, form != .full {
            throw PosteriorError.integratedFormNeedsGaussian(form: form, family: design.family)
        }
        let labels = try columns.labelsJSON()
        let files = try ChainOutput.prepare(directory: outputDirectory, chainIDs: chainIDs, replacing: overwrite,
                                            onlySomeChains: onlySomeChains, labels: labels, seed: seed)

        printError("\(command): \(modelName), \(design.formula.source), \(design.observationCount) rows")
        printError("\(chainIDs.count == 1 ? "chain \(chainIDs[0])" : "\(chainIDs.count) chains"): \(warmup) warmup + \(draws) draws\(thin > 1 ? ", thin \(thin)" : ""), seed \(seed)\(self.seed == nil ? " (drawn at random; --seed \(seed) repeats this run)" : "")")
        printError("priors (\(priorsPath ?? "data-scaled defaults, docs/priors.md")):")
        for line in priorSet.describe(design: design) { printError("  " + line) }
        printError("output: \(outputDirectory)/")
        if let generalized {
            printError(generalized.header(family: design.family))
        } else if let choiceHeader {
            printError(choiceHeader)
        } else if algorithm == .gibbs, design.family.isGaussian, case let choice = GibbsSamplerChoice(design: design), choice.sampler == .collapsed {
            printError("note: --algorithm auto (the default) would run collapsed Gibbs here: \(choice.reason)")
        }

        let chainAlgorithm: any ChainAlgorithm
        var nutsOptions: NUTSOptions?
        switch algorithm {
        case .gibbs where generalized != nil:
            let options = GibbsChainOptions(warmup: warmup, draws: draws, thin: thin, seed: seed)
            let priors = GibbsPriors(priorSet)
            if case .augmented = generalized {
                chainAlgorithm = try GibbsChains(design: design, columns: columns, options: options, buildPerChain: true) { try AugmentedGibbs(design: $0, priors: priors.unsharedCopy()) }
            } else if case .latentLogRate = generalized {
                chainAlgorithm = try GibbsChains(design: design, columns: columns, options: options, buildPerChain: true) { try LatentLogRateGibbs(design: $0, priors: priors.unsharedCopy()) }
            } else {
                chainAlgorithm = try GibbsChains(design: design, columns: columns, options: options, buildPerChain: true) { try IRLSProposalGibbs(design: $0, priors: priors.unsharedCopy()) }
            }
        case .gibbs:
            let priors = GibbsPriors(priorSet)
            chainAlgorithm = try GibbsChains(design: design, columns: columns,
                                             options: GibbsChainOptions(warmup: warmup, draws: draws, thin: thin, seed: seed),
                                             buildPerChain: false) { try GibbsSampler(design: $0, priors: priors) }
        case .collapsedGibbs:
            let priors = GibbsPriors(priorSet)
            chainAlgorithm = try GibbsChains(design: design, columns: columns,
                                             options: GibbsChainOptions(warmup: warmup, draws: draws, thin: thin, seed: seed),
                                             buildPerChain: false) { try CollapsedCrossedGibbs(design: $0, priors: priors) }
        case .auto:
            preconditionFailure("chooseAlgorithm resolves auto to a sampler")
        case .nuts:
            let targetOption = nutsTarget(for: design)
            let metricOption = nuts.metric ?? .diag
            var settings = NUTSOptions()
            settings.adaptDelta = nuts.adaptDelta ?? 0.8
            settings.maxDepth = nuts.maxDepth ?? 10
            settings.metricKind = metricOption.kind
            var options = ChainOptions()
            options.warmup = warmup
            options.draws = draws
            options.thin = thin
            options.seed = seed
            options.saveWarmup = saveWarmup
            options.nuts = settings
            let posterior = try PosteriorNUTS(design: design, priors: priorSet, form: targetOption.form)
            let start: PosteriorStart
            let startFit: String
            if design.family.isGaussian {
                let fit = try MixedModelFit.fit(design)
                start = PosteriorStart(center: fit.posteriorCenter, betaJitter: fit.fixedEffects.map { 2 * $0.standardError })
                startFit = "REML fit (\(String(format: "%.3f", fit.seconds)) s)"
            } else {
                // No REML for binomial and Poisson models: the Laplace fit, b from its conditional modes.
                let fit = try GeneralizedMixedModelFit.fit(design, standardErrors: .rx)
                start = fit.posteriorStart(priors: priorSet)
                startFit = "Laplace fit (\(String(format: "%.3f", fit.seconds)) s) kept inside the priors, random effects at its conditional modes"
            }
            printError("NUTS on the \(targetOption.rawValue) log-posterior (\(posterior.layout.dimension) coordinates), metric \(metricOption.cmdStanName), adapt delta \(Diagnose.number(settings.adaptDelta)), max depth \(settings.maxDepth)")
            let betaJitter = targetOption == .marginal ? "" : "beta ± 2 SE, "
            let scales = design.family.hasDispersion ? "log sigma, log sd" : "log sd"
            printError("start: \(startFit), jittered per chain: \(betaJitter)\(scales) and correlation coordinates ± \(Diagnose.number(start.scaleJitter))")
            chainAlgorithm = NUTSChains(posterior: posterior, start: start, options: options)
            nutsOptions = settings
        }
        try labels.write(to: files.labels, options: .atomic)

        // `id` is never marked default, so chain K's file is the same whether it ran alone or not.
        var userSet: Set<String> = ["file", "id"]
        if self.seed != nil { userSet.insert("seed") }
        for (key, isSet) in [("num_warmup", warmup != 1000), ("num_samples", draws != 1000), ("thin", thin != 1), ("save_warmup", saveWarmup),
                             ("delta", nuts.adaptDelta != nil), ("max_depth", nuts.maxDepth != nil), ("metric", nuts.metric != nil)] where isSet {
            userSet.insert(key)
        }
        let configuredKeys = userSet
        let (warmup, draws, thin, saveWarmup) = (self.warmup, self.draws, self.thin, self.saveWarmup)
        let targetName = nutsTarget(for: design).rawValue
        let initialization = design.family.isGaussian ? "reml_jittered" : "laplace_jittered"
        let metricName = (nuts.metric ?? .diag).cmdStanName
        let chosenNUTS = nutsOptions
        let gibbsName = algorithm == .collapsedGibbs
            ? "mixmc collapsed Gibbs sampler for crossed random intercepts (Papaspiliopoulos, Roberts & Zanella 2020)"
            : generalized?.configurationName ?? "mixmc Gibbs sampler"
        let run = ChainRun(
            algorithm: chainAlgorithm, warmup: warmup, draws: draws, chainIDs: chainIDs, files: files.chains,
            configuration: { id, file in
                guard let settings = chosenNUTS else {
                    return StanCSVConfiguration.gibbsSample(
                        model: modelName, numSamples: draws, numWarmup: warmup, thin: thin,
                        chainID: id, dataFile: design.dataSource, seed: seed, outputFile: file.path, userSet: configuredKeys,
                        comments: [gibbsName + "; lp__ is the log joint density on the natural scale (docs/chain-format.md)"]
                            + columns.groupLevelComments())
                }
                return StanCSVConfiguration.nutsSample(
                    model: modelName, numSamples: draws, numWarmup: warmup, saveWarmup: saveWarmup, thin: thin,
                    adaptDelta: settings.adaptDelta, maxDepth: settings.maxDepth,
                    metric: metricName, chainID: id, dataFile: design.dataSource,
                    initialization: initialization, seed: seed, outputFile: file.path, userSet: configuredKeys,
                    comments: ["mixmc NUTS on the \(targetName) log-posterior; lp__ is its log density on the unconstrained scale with the Jacobian, not the Gibbs lp__ (docs/chain-format.md)",
                               "the metric is over the unconstrained coordinates " + Sample.coordinateList(chainAlgorithm)]
                        + columns.groupLevelComments())
            })
        let outcomes = run.execute(showProgress: !quiet && isatty(STDERR_FILENO) != 0)

        var failed = false
        var reports: [ChainReport] = []
        for (id, outcome) in zip(chainIDs, outcomes) {
            switch outcome {
            case .failed(let message):
                printError("error: chain \(id): \(message)")
                failed = true
            case .finished(let report):
                reports.append(report)
            }
        }
        if failed && run.stoppedByWriteFailure {
            printError("stopped: a write failed; every file ends on a whole row, cut to the same iteration, in \(outputDirectory)/")
            for (id, outcome) in zip(chainIDs, outcomes) {
                let rows = (try? StanCSVReader.read(url: files.chains[chainIDs.firstIndex(of: id)!]))?.drawCount
                if case .finished(let report) = outcome {
                    printError("  chain \(id): kept \(report.drawsKept) of \((draws + thin - 1) / thin) draws (warmup \(report.warmupIterationsDone) of \(warmup))")
                } else if let rows {
                    printError("  chain \(id): kept \(rows) of \((draws + thin - 1) / thin) draws")
                }
            }
        }
        if failed { return Result(files: files.chains, reports: reports, status: .failure) }
        if let signal = run.stopSignal {
            let name = [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP"][signal] ?? "signal \(signal)"
            printError("interrupted (\(name)): every finished draw is in \(outputDirectory)/, every chain stopped at the same iteration")
            for (index, (id, report)) in zip(chainIDs, reports).enumerated() {
                var line = "  chain \(id): kept \(report.drawsKept) of \((draws + thin - 1) / thin) draws (warmup \(report.warmupIterationsDone) of \(warmup))"
                if let cut = run.rowsCut[index] { line += "; \(cut) more row\(cut == 1 ? "" : "s") cut after the second signal to match the shortest chain" }
                printError(line)
            }
            return Result(files: files.chains, reports: reports, status: ExitCode(128 + signal))
        }
        return Result(files: files.chains, reports: reports, status: nil)
    }
}
