import ArgumentParser
import ChainIO
import Diagnostics
import Dispatch
import Foundation
import ModelSpec
import Samplers

/// `mixmc sample`: parallel, reproducible Gibbs chains written as Stan CSV (docs/chain-format.md).
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw from the posterior with the blocked Gibbs sampler; one Stan CSV file per chain.",
        discussion: """
            Chains run in parallel threads. Chain k's random stream depends only on (--seed, k), so \
            a seed gives byte-identical files whatever the number of threads, and --chain K alone \
            reproduces chain K of a multi-chain run. Writes OUTPUT/chain-K.csv per chain and \
            OUTPUT/labels.json (the lme4 names of every column, the r_ index map included). \
            Priors: --priors, else the model directory's priors file, else data-scaled defaults \
            (docs/priors.md). Ctrl-C or SIGTERM stops every chain after its current iteration, \
            keeps every finished draw and exits with 130 (SIGINT) or 143 (SIGTERM).
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Priors file (TOML, docs/priors.md); overrides a model directory's.")
    var priors: String?

    @Option(parsing: .unconditional, help: "Number of chains (default 4).")
    var chains: Int?

    @Option(parsing: .unconditional, help: "Run only chain K (1-based), as it would run in a multi-chain run.")
    var chain: Int?

    @Option(parsing: .unconditional, help: "Warmup iterations per chain (not saved).")
    var warmup = 1000

    @Option(parsing: .unconditional, help: "Sampling iterations per chain.")
    var draws = 1000

    @Option(parsing: .unconditional, help: "Keep every N-th sampling iteration.")
    var thin = 1

    @Option(help: "Random seed (default: drawn at random and printed, so the run can be repeated).")
    var seed: UInt64?

    @Option(help: "Output directory (default chains/<model name>).")
    var output: String?

    @Flag(help: "Replace chain files already in the output directory.")
    var overwrite = false

    @Flag(help: "No progress display.")
    var quiet = false

    static let defaultChains = 4

    func validate() throws {
        if let chains, chains < 1 { throw ValidationError("--chains must be at least 1; got \(chains)") }
        if let chain, chain < 1 { throw ValidationError("--chain must be at least 1; got \(chain)") }
        if chains != nil && chain != nil {
            throw ValidationError("give --chains N for a run of N chains or --chain K for chain K alone, not both")
        }
        if warmup < 0 { throw ValidationError("--warmup must be 0 or more; got \(warmup)") }
        if draws < 1 { throw ValidationError("--draws must be at least 1; got \(draws)") }
        if thin < 1 { throw ValidationError("--thin must be at least 1; got \(thin)") }
    }

    mutating func run() throws {
        var status: ExitCode?
        try runReportingErrors { status = try sample() }
        if let status { throw status }
    }

    /// Runs the command; returns the exit status when it is not success (failed or interrupted
    /// chains, whose messages are printed already), and throws user-facing errors.
    private func sample() throws -> ExitCode? {
        let start = ContinuousClock.now
        let design = try model.loadDesign()
        let directory = try model.model.map { try ModelDirectory.load(path: $0) }
        let priorsPath = priors ?? directory?.priorsPath
        let priorSet = try priorsPath.map { try PriorSet.load(path: $0, design: design) } ?? PriorSet.defaults(for: design)
        let columns = OutputColumns(design: design)
        let modelName = Self.modelName(modelPath: model.model, dataSource: design.dataSource)
        let chainIDs = chain.map { [$0] } ?? Array(1...(chains ?? Self.defaultChains))
        let seed = self.seed ?? UInt64.random(in: 0..<(1 << 31))
        let outputDirectory = output ?? "chains/\(modelName)"
        let files = try ChainOutput.prepare(directory: outputDirectory, chainIDs: chainIDs, replacing: overwrite,
                                            onlySomeChains: chain != nil)

        printError("mixmc sample: \(modelName), \(design.formula.source), \(design.observationCount) rows")
        printError("\(chainIDs.count == 1 ? "chain \(chainIDs[0])" : "\(chainIDs.count) chains"): \(warmup) warmup + \(draws) draws\(thin > 1 ? ", thin \(thin)" : ""), seed \(seed)\(self.seed == nil ? " (drawn at random; --seed \(seed) repeats this run)" : "")")
        printError("priors (\(priorsPath ?? "data-scaled defaults, docs/priors.md")):")
        for line in priorSet.describe(design: design) { printError("  " + line) }
        printError("output: \(outputDirectory)/")

        let gibbsPriors = GibbsPriors(priorSet)
        let sampler = try GibbsSampler(design: design, priors: gibbsPriors)
        try columns.labelsJSON().write(to: files.labels, options: .atomic)

        // `id` is never marked default, so chain K's file is the same whether it ran alone or not.
        var userSet: Set<String> = ["file", "id"]
        if self.seed != nil { userSet.insert("seed") }
        for (key, isSet) in [("num_warmup", warmup != 1000), ("num_samples", draws != 1000), ("thin", thin != 1)] where isSet {
            userSet.insert(key)
        }
        let configuredKeys = userSet
        let options = GibbsChainOptions(warmup: warmup, draws: draws, thin: thin, seed: seed)
        let run = ChainRun(
            sampler: sampler, columns: columns, options: options, chainIDs: chainIDs, files: files.chains,
            configuration: { id, file in
                StanCSVConfiguration.gibbsSample(
                    model: modelName, numSamples: options.draws, numWarmup: options.warmup, thin: options.thin,
                    chainID: id, dataFile: design.dataSource, seed: seed, outputFile: file.path, userSet: configuredKeys,
                    comments: ["mixmc Gibbs sampler; lp__ is the log joint density on the natural scale (docs/chain-format.md)"]
                        + columns.groupLevelComments())
            })
        let showProgress = !quiet && isatty(STDERR_FILENO) != 0
        let outcomes = run.execute(showProgress: showProgress)
        // The run's seconds: reading the data, building the design and every chain's warmup and
        // sampling, up to the last file closed (not the summary below).
        let wallSeconds = Self.seconds(ContinuousClock.now - start)

        var failed = false
        for (id, outcome) in zip(chainIDs, outcomes) {
            if case .failed(let message) = outcome {
                printError("error: chain \(id): \(message)")
                failed = true
            }
        }
        if failed { return .failure }
        if let signal = run.stopSignal {
            let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
            printError("interrupted (\(name)): every finished draw is in \(outputDirectory)/")
            for (id, outcome) in zip(chainIDs, outcomes) {
                guard case .finished(let summary) = outcome else { continue }
                printError("  chain \(id): kept \(summary.drawsKept) of \(options.keptDraws) draws (warmup \(summary.warmupIterationsDone) of \(options.warmup))")
            }
            return ExitCode(signal == SIGINT ? 130 : 143)
        }

        let read = try files.chains.map { try StanCSVReader.read(url: $0) }
        let summary = try RunSummary(chains: read)
        print(Diagnose.renderTable(summary, files: files.chains))
        print("")
        print(Self.efficiencyLine(summary, seconds: wallSeconds))
        return nil
    }

    /// The model's name: a model directory's name, else the data file's name without extension.
    static func modelName(modelPath: String?, dataSource: String) -> String {
        if let modelPath { return URL(fileURLWithPath: modelPath).standardizedFileURL.lastPathComponent }
        return URL(fileURLWithPath: dataSource).deletingPathExtension().lastPathComponent
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    /// "Run time 0.141 s; minimum bulk ESS over b_, sigma, sd_: 3512 (sd_Subject__Days), 4181 per second",
    /// the benchmark's figure (docs/benchmarks.md): the run's seconds from reading the data to the
    /// last chain file closed, warmup included.
    static func efficiencyLine(_ summary: RunSummary, seconds: Double) -> String {
        let candidates = summary.parameters.filter {
            $0.name.hasPrefix("b_") || $0.name == "sigma" || $0.name.hasPrefix("sd_")
        }
        guard let worst = candidates.min(by: { $0.essBulk < $1.essBulk }), worst.essBulk.isFinite else {
            return String(format: "Run time %.3f s", seconds)
        }
        return String(format: "Run time %.3f s; minimum bulk ESS over b_, sigma, sd_: %.0f", seconds, worst.essBulk)
            + " (\(worst.name)), " + String(format: "%.0f per second", worst.essBulk / seconds)
    }
}
