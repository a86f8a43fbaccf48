import ArgumentParser
import ChainIO
import Diagnostics
import Dispatch
import Foundation
import ModelSpec
import PenalizedLS
import Samplers

/// The sampler of `mixmc sample`.
enum SamplingAlgorithm: String, ExpressibleByArgument, CaseIterable {
    /// Blocked or collapsed Gibbs for a Gaussian model by `GibbsSamplerChoice`'s cost model, the
    /// family's Gibbs sampler otherwise (`SamplingJob.chooseAlgorithm`).
    case auto
    case gibbs
    case nuts
    case collapsedGibbs = "collapsed-gibbs"
}

/// The log-posterior NUTS moves in (`PosteriorForm` without `.marginal`).
enum NUTSTargetOption: String, ExpressibleByArgument, CaseIterable {
    case collapsed
    case marginal
    case full

    var form: PosteriorForm {
        switch self {
        case .collapsed: .collapsed
        case .marginal: .marginal
        case .full: .full
        }
    }
}

/// NUTS's metric, as the flag spells it and as CmdStan's `metric` key does.
enum MetricOption: String, ExpressibleByArgument, CaseIterable {
    case diag
    case dense

    var kind: MetricKind { self == .dense ? .dense : .diagonal }
    var cmdStanName: String { self == .dense ? "dense_e" : "diag_e" }
}

/// `mixmc sample`: parallel, reproducible Gibbs or NUTS chains written as Stan CSV (docs/chain-format.md).
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw from the posterior with the blocked Gibbs sampler or NUTS; one Stan CSV file per chain.",
        discussion: """
            --algorithm auto (default) runs the blocked or the collapsed Gibbs sampler, whichever a \
            cost model of the design (rows, levels, the blocked factor's dense order and fill-in) \
            prices faster per sweep, and the family's Gibbs sampler for binomial and Poisson models; \
            the run header names the choice and why. --algorithm gibbs runs the blocked Gibbs \
            sampler; --algorithm collapsed-gibbs \
            runs the collapsed Gibbs sampler for crossed random intercepts (every term a single \
            coefficient; same priors, columns and lp__ as gibbs); --algorithm nuts runs NUTS with \
            Stan's adaptation on the collapsed log-posterior (random effects integrated out and drawn \
            exactly for every kept draw; --target collapsed, the default), on the marginal one (β \
            integrated out as well and drawn with the random effects; --target marginal) or on the \
            full one (--target full), starting each chain from the REML fit jittered with the chain's own stream. NUTS \
            files carry Stan's sampler columns and adaptation block, and lp__ is the log density NUTS \
            sampled (unconstrained, Jacobian included), not the Gibbs lp__ (docs/chain-format.md). \
            Chains run in parallel threads. Chain k's random stream depends only on (--seed, k), so \
            a seed gives byte-identical files whatever the number of threads, and --chain K alone \
            reproduces chain K of a multi-chain run. Writes OUTPUT/chain-K.csv per chain and \
            OUTPUT/labels.json (the lme4 names of every column, the r_ index map included). \
            Priors: --priors, else the model directory's priors file, else data-scaled defaults \
            (docs/priors.md). Ctrl-C, SIGTERM or SIGHUP stops every chain at one common iteration, \
            keeps every finished draw and exits with 130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP); a \
            second signal stops at once, cutting the files to the shortest chain. A directory \
            another run is writing is refused, --overwrite or not.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Priors file (TOML, docs/priors.md); overrides a model directory's.")
    var priors: String?

    @Option(parsing: .unconditional, help: "Number of chains (default 4).")
    var chains: Int?

    @Option(parsing: .unconditional, help: "Run only chain K (1-based), as it would run in a multi-chain run.")
    var chain: Int?

    @Option(parsing: .unconditional, help: "Warmup iterations per chain (not saved unless --save-warmup).")
    var warmup = 1000

    @Flag(name: .customLong("save-warmup"), help: "NUTS only: write every thin-th warmup iteration too, before the adaptation block and the draws (CmdStan's save_warmup).")
    var saveWarmup = false

    @Option(parsing: .unconditional, help: "Sampling iterations per chain.")
    var draws = 1000

    @Option(parsing: .unconditional, help: "Keep every N-th sampling iteration.")
    var thin = 1

    @Option(parsing: .unconditional, help: "Random seed (default: drawn at random and printed, so the run can be repeated).",
            transform: Sample.parseSeed)
    var seed: UInt64?

    @Option(help: "Sampler: auto (default: blocked or collapsed Gibbs, whichever the design's cost model prices faster; the run header says which and why), gibbs, nuts or collapsed-gibbs (scalar random-effects terms only).")
    var algorithm: SamplingAlgorithm = .auto

    @Option(help: "NUTS only: the log-posterior to sample, collapsed, marginal or full (default collapsed).")
    var target: NUTSTargetOption?

    @Option(name: .customLong("adapt-delta"), help: "NUTS only: target acceptance statistic of step-size adaptation (default 0.8).")
    var adaptDelta: Double?

    @Option(name: .customLong("max-depth"), help: "NUTS only: maximum tree depth (default 10).")
    var maxDepth: Int?

    @Option(help: "NUTS only: adapted metric, diag or dense (default diag).")
    var metric: MetricOption?

    @Option(help: "Output directory (default chains/<model name>).")
    var output: String?

    @Flag(help: "Replace chain files already in the output directory.")
    var overwrite = false

    @Flag(help: "No progress display.")
    var quiet = false

    static let defaultChains = 4

    /// `--seed -1` was read as a missing value followed by a flag; it is read here as a value and
    /// refused with the range.
    static func parseSeed(_ text: String) throws -> UInt64 {
        guard let seed = UInt64(text) else {
            throw ValidationError("a seed is a whole number from 0 to 18446744073709551615")
        }
        return seed
    }

    func validate() throws {
        if let chains, chains < 1 { throw ValidationError("--chains must be at least 1; got \(chains)") }
        if let chain, chain < 1 { throw ValidationError("--chain must be at least 1; got \(chain)") }
        if chains != nil && chain != nil {
            throw ValidationError("give --chains N for a run of N chains or --chain K for chain K alone, not both")
        }
        if warmup < 0 { throw ValidationError("--warmup must be 0 or more; got \(warmup)") }
        if draws < 1 { throw ValidationError("--draws must be at least 1; got \(draws)") }
        if thin < 1 { throw ValidationError("--thin must be at least 1; got \(thin)") }
        if let output, output.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--output is empty; give a directory, as in --output chains/run1")
        }
        if algorithm != .nuts {
            let given = [("--target", target != nil), ("--adapt-delta", adaptDelta != nil), ("--max-depth", maxDepth != nil),
                         ("--metric", metric != nil)].filter(\.1).map(\.0)
            if !given.isEmpty {
                throw ValidationError("\(given.joined(separator: ", ")) apply to --algorithm nuts only")
            }
            if saveWarmup {
                // A Gibbs file has no sampler columns, which CmdStanPy reads as CmdStan's
                // fixed_param output: every row a draw, whatever save_warmup says.
                throw ValidationError("--save-warmup applies to --algorithm nuts only: CmdStanPy would read a Gibbs file's warmup rows as draws; to keep the Gibbs warmup, run with --warmup 0 and --draws W+D and drop the first W rows yourself")
            }
        }
        if let adaptDelta, !(adaptDelta > 0 && adaptDelta < 1) {
            throw ValidationError("--adapt-delta must be between 0 and 1 (exclusive); got \(adaptDelta)")
        }
        if let maxDepth, maxDepth < 1 { throw ValidationError("--max-depth must be at least 1; got \(maxDepth)") }
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
        let modelName = Self.modelName(modelPath: model.model, dataSource: design.dataSource)
        let job = SamplingJob(
            command: "mixmc sample", modelPath: model.model, priorsPath: priors, algorithm: algorithm,
            chainIDs: chain.map { [$0] } ?? Array(1...(chains ?? Self.defaultChains)), onlySomeChains: chain != nil,
            warmup: warmup, saveWarmup: saveWarmup, draws: draws, thin: thin, seed: seed,
            nuts: .init(target: target, adaptDelta: adaptDelta, maxDepth: maxDepth, metric: metric),
            outputDirectory: output ?? "chains/\(modelName)", overwrite: overwrite, quiet: quiet)
        let result = try job.run(design: design)
        // The run's seconds: reading the data, building the design and every chain's warmup and
        // sampling, up to the last file closed (not the summary below).
        let wallSeconds = Self.seconds(ContinuousClock.now - start)
        if let status = result.status { return status }

        // The summary leaves the group-level effects out (`mixmc diagnose --all` has them), so
        // their columns, nearly all of a large design's file, are not parsed.
        let read = try result.files.map { try StanCSVReader.read(url: $0, keeping: { !$0.hasPrefix("r_") }) }
        let summary = try RunSummary(chains: read)
        print(Diagnose.renderTable(summary, files: result.files))
        print("")
        print(Self.efficiencyLine(summary, seconds: wallSeconds))
        if algorithm == .nuts { print(Self.gradientLine(summary, reports: result.reports)) }
        return nil
    }

    /// `z_Subject.1.1`-style names of NUTS's coordinates, for the comment on the metric's order;
    /// the full target's z are summarized as a range.
    static func coordinateList(_ algorithm: any ChainAlgorithm) -> String {
        guard let nuts = algorithm as? NUTSChains else { return "" }
        let names = nuts.posterior.coordinateNames
        let effects = names.filter { $0.hasPrefix("z_") }
        let others = names.filter { !$0.hasPrefix("z_") }.joined(separator: " ")
        guard let first = effects.first, let last = effects.last else { return others }
        return others + " then \(effects.count) z from \(first) to \(last)"
    }

    /// "Gradient evaluations: 41234 warmup + 23456 sampling; 9.8 per bulk-effective draw (sampling), 27.0 (total)",
    /// the benchmark's cost figure (docs/benchmarks.md): leapfrog steps over the minimum bulk ESS
    /// of b_, sigma, sd_.
    static func gradientLine(_ summary: RunSummary, reports: [ChainReport]) -> String {
        let warmup = reports.reduce(0) { $0 + $1.gradientEvaluationsWarmup }
        let sampling = reports.reduce(0) { $0 + $1.gradientEvaluationsSampling }
        var line = "Gradient evaluations: \(warmup) warmup + \(sampling) sampling"
        let candidates = summary.parameters.filter { $0.name.hasPrefix("b_") || $0.name == "sigma" || $0.name.hasPrefix("sd_") }
        if let worst = candidates.min(by: { $0.essBulk < $1.essBulk }), worst.essBulk.isFinite, worst.essBulk > 0 {
            line += String(format: "; %.1f per bulk-effective draw (sampling), %.1f (total)",
                           Double(sampling) / worst.essBulk, Double(warmup + sampling) / worst.essBulk)
        }
        return line
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
