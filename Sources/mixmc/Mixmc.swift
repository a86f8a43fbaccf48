import ArgumentParser
import CNumerics

@main
struct Mixmc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixmc",
        abstract: "Bayesian hierarchical (linear mixed) models: REML/ML fits, Gibbs and NUTS sampling, diagnostics.",
        subcommands: [Fit.self, Describe.self, Sample.self, Diagnose.self, Compare.self, Benchmark.self]
    )

    static func main() {
        // Chains run one per thread; a multi-threaded BLAS under them oversubscribes the cores and
        // changes results bit by bit with the thread count (TOOLCHAIN.md).
        openblas_set_num_threads(1)
        main(nil)
    }
}
