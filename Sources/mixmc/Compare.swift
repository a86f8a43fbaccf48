import ArgumentParser
import ChainIO
import Diagnostics
import Foundation
import ModelSpec
import PenalizedLS
import Samplers

/// `mixmc compare`: the posterior beside the REML (or ML) fit of the same model, or beside the
/// Laplace fit of a binomial or Poisson model (docs/compare.md).
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the posterior with the REML (or ML) fit: estimates, posterior mean/median/mode/SD/95% interval, shrinkage.",
        discussion: """
            Fits the model by REML (--ml: ML), runs Gibbs chains as `mixmc sample` does (or reads \
            them from --chains-dir, e.g. a `mixmc sample` output directory), and prints for beta, \
            sigma, every SD and correlation the estimate (with beta's SE), the posterior mean, \
            median, mode (Gaussian kernel density maximum), SD, 2.5% and 97.5% quantiles and \
            (mean - estimate) / sd; for the random effects the conditional modes against the \
            posterior means; and the flat-prior marginal posterior mode of (theta, sigma), which \
            equals the REML estimate. A binomial or Poisson model is compared with its Laplace \
            fit (no sigma, no marginal-mode check). Sampled chains go to --output (default: a new temporary \
            directory, printed). --json prints one object (docs/compare.md lists its keys).
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Priors file (TOML, docs/priors.md); overrides a model directory's.")
    var priors: String?

    @Option(help: "Read the chains (*.csv) from this directory instead of sampling.")
    var chainsDir: String?

    @Option(help: "Number of chains (default 4).")
    var chains = 4

    @Option(help: "Warmup iterations per chain.")
    var warmup = 1000

    @Option(help: "Sampling iterations per chain.")
    var draws = 1000

    @Option(parsing: .unconditional, help: "Random seed (default: drawn at random and printed).", transform: Sample.parseSeed)
    var seed: UInt64?

    @Option(help: "Directory for the sampled chains (default: a new temporary directory).")
    var output: String?

    @Flag(help: "Replace chain files already in --output.")
    var overwrite = false

    @Flag(help: "Compare with the ML fit instead of REML.")
    var ml = false

    @Flag(help: "Print one JSON object instead of the tables.")
    var json = false

    @Flag(help: "No progress display.")
    var quiet = false

    func validate() throws {
        if chains < 1 { throw ValidationError("--chains must be at least 1; got \(chains)") }
        if warmup < 0 { throw ValidationError("--warmup must be 0 or more; got \(warmup)") }
        if draws < 1 { throw ValidationError("--draws must be at least 1; got \(draws)") }
        if chainsDir != nil && output != nil {
            throw ValidationError("--output is where sampled chains go; with --chains-dir nothing is sampled")
        }
    }

    mutating func run() throws {
        var status: ExitCode?
        try runReportingErrors { status = try compare() }
        if let status { throw status }
    }

    private func compare() throws -> ExitCode? {
        let design = try model.loadDesign()
        // A binomial or Poisson model is compared with its Laplace fit; the flat-prior marginal
        // mode check (REML's Bayesian reading) exists for Gaussian models only.
        let estimates: BayesREMLComparison.Estimates
        let fitObject: [String: Any]
        var check: (mode: FlatPriorMarginalMode, reml: MixedModelFit)?
        if design.family.isGaussian {
            let fit = try MixedModelFit.fit(design, method: ml ? .ml : .reml)
            let reml = ml ? try MixedModelFit.fit(design, method: .reml) : fit
            check = (try FlatPriorMarginalMode.compute(design: design), reml)
            estimates = BayesREMLComparison.Estimates(fit)
            fitObject = fit.jsonObject()
        } else {
            guard !ml else {
                throw ValidationError("--ml applies to Gaussian models; a \(design.family.kind.rawValue) model is compared with its Laplace fit (maximum likelihood already)")
            }
            let fit = try GeneralizedMixedModelFit.fit(design)
            estimates = BayesREMLComparison.Estimates(fit)
            fitObject = fit.jsonObject()
        }

        let files: [URL]
        let directory: String
        if let chainsDir {
            directory = chainsDir
            files = try Diagnose.resolveFiles([chainsDir]).filter { $0.lastPathComponent != "labels.json" }
        } else {
            directory = try output ?? Self.temporaryDirectory()
            switch try sample(design: design, directory: directory) {
            case .chains(let sampled): files = sampled
            case .stopped(let status): return status
            }
        }
        let chainFiles = try files.map { file in
            do { return try StanCSVReader.read(url: file) } catch let error as StanCSVReadError {
                throw ValidationFailure(error.description)
            }
        }
        let comparison: BayesREMLComparison
        do {
            comparison = try BayesREMLComparison(fit: estimates, design: design, chains: chainFiles)
        } catch {
            throw ValidationFailure(error.description)
        }
        if json {
            var object = comparison.jsonObject(marginalMode: check)
            object["fit"] = fitObject
            object["chains_dir"] = directory
            object["files"] = files.map(\.path)
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("mixmc compare: \(design.formula.source), \(design.observationCount) rows; chains in \(directory)/")
            print("")
            print(comparison.renderTable(marginalMode: check))
        }
        return nil
    }

    /// A new directory under the system's temporary directory.
    static func temporaryDirectory() throws -> String {
        let base = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
        var template = Array((base + "mixmc-compare-XXXXXX").utf8CString)
        guard let result = mkdtemp(&template) else {
            throw SampleError("cannot create a temporary directory under \(NSTemporaryDirectory())")
        }
        return String(cString: result)
    }

    /// Runs the Gibbs chains as `mixmc sample` does (same priors, columns, files and seeds: the
    /// same flags give the same draws); returns the chain files, or the exit status when a chain
    /// failed or the run was interrupted (messages printed).
    private func sample(design: Design, directory: String) throws -> SampleOutcome {
        let job = SamplingJob(
            command: "mixmc compare", modelPath: model.model, priorsPath: priors, algorithm: .gibbs,
            chainIDs: Array(1...chains), onlySomeChains: false, warmup: warmup, draws: draws, thin: 1, seed: seed,
            nuts: .init(), outputDirectory: directory, overwrite: overwrite, quiet: quiet)
        let result = try job.run(design: design)
        if let status = result.status { return .stopped(status) }
        return .chains(result.files)
    }

    /// The chain files of a finished run, or the exit status of one that failed or was stopped.
    private enum SampleOutcome {
        case chains([URL])
        case stopped(ExitCode)
    }
}
