import Foundation
import ModelSpec

/// One Gibbs chain's run: lengths, thinning and the random stream's identity.
public struct GibbsChainOptions: Sendable {
    public var warmup = 1000
    /// Sampling iterations (CmdStan's `num_samples`); ceil(draws / thin) of them are kept.
    public var draws = 1000
    /// Keep every `thin`-th sampling iteration, the first one included, as CmdStan does.
    public var thin = 1
    public var seed: UInt64 = 0
    /// Chain id (1-based); with `seed` it alone determines the random stream.
    public var chain = 1

    public init(warmup: Int = 1000, draws: Int = 1000, thin: Int = 1, seed: UInt64 = 0, chain: Int = 1) {
        self.warmup = warmup
        self.draws = draws
        self.thin = thin
        self.seed = seed
        self.chain = chain
    }

    /// Sampling draws a complete run keeps: ceil(draws / thin).
    public var keptDraws: Int { (draws + thin - 1) / thin }
}

/// Where a Gibbs chain's kept draws go. Samplers never touch files: a writer implements this.
public protocol GibbsDrawSink: AnyObject {
    /// A kept sampling draw: one value per column of `OutputColumns`, in their order.
    func receive(_ row: [Double]) throws
    /// Called after every iteration (1-based over warmup then sampling), for progress reports.
    func iterationFinished(_ iteration: Int)
}

extension GibbsDrawSink {
    public func iterationFinished(_ iteration: Int) {}
}

/// How a Gibbs chain's run ended and what it counted.
public struct GibbsChainSummary: Sendable, Equatable {
    public var warmupIterationsDone = 0
    public var samplingIterationsDone = 0
    public var drawsKept = 0
    /// True when `shouldStop` ended the run early; every delivered draw stays valid.
    public var stopped = false
    /// Wall-clock seconds of each phase (the part done, when stopped).
    public var warmupSeconds = 0.0
    public var samplingSeconds = 0.0

    public init() {}
}

/// A Gibbs sampler a chain runs: a sweep, and the state a row of `OutputColumns` is made of
/// (docs/math.md, eq. 20): the blocked `GibbsSampler` and the `CollapsedCrossedGibbs` sampler,
/// which keeps its state in a `GibbsSampler` and so shares its `lp__`.
public protocol GibbsChainSampler {
    var beta: [Double] { get }
    var randomEffects: [[Double]] { get }
    var sigma: Double { get }
    /// Σ_j per term (column-major k_j x k_j).
    var covariances: [[Double]] { get }
    mutating func sweep(random: inout RandomStream) throws(GibbsError)
    /// `lp__` of the current state (`GibbsSampler.logJointDensity()`).
    func logJointDensity() -> Double
    /// Called before the first warmup sweep and after the last one: a sampler may tune itself
    /// between the two, and must sample with what it has tuned, unchanged, afterwards.
    mutating func beginWarmup()
    mutating func endWarmup()
}

extension GibbsChainSampler {
    public mutating func beginWarmup() {}
    public mutating func endWarmup() {}
}

extension GibbsSampler: GibbsChainSampler {}

/// Runs `options.warmup` sweeps then `options.draws` sweeps of `sampler` (a copy this chain owns),
/// handing every `thin`-th sampling state to `sink` as a row of `columns` with `lp__` =
/// `sampler.logJointDensity()`. `shouldStop` is polled before every iteration; when it
/// returns true the run ends at once with `stopped` set.
///
/// The random stream is `RandomStream(seed: options.seed, chain: options.chain)`, so the draws
/// depend only on (sampler's start, options): chain k of a multi-chain run is bit-identical to
/// chain k run alone, whatever the threads.
public func runGibbsChain(
    sampler: some GibbsChainSampler, columns: OutputColumns, options: GibbsChainOptions,
    sink: some GibbsDrawSink, shouldStop: () -> Bool = { false }
) throws -> GibbsChainSummary {
    precondition(options.warmup >= 0 && options.draws >= 0 && options.thin >= 1)
    var sampler = sampler
    var random = RandomStream(seed: options.seed, chain: options.chain)
    var summary = GibbsChainSummary()
    let clock = ContinuousClock()
    func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    let warmupStart = clock.now
    sampler.beginWarmup()
    for m in 0..<options.warmup {
        if shouldStop() {
            summary.stopped = true
            summary.warmupSeconds = seconds(clock.now - warmupStart)
            return summary
        }
        try sampler.sweep(random: &random)
        summary.warmupIterationsDone += 1
        sink.iterationFinished(m + 1)
    }
    sampler.endWarmup()
    summary.warmupSeconds = seconds(clock.now - warmupStart)

    let samplingStart = clock.now
    for m in 0..<options.draws {
        if shouldStop() {
            summary.stopped = true
            summary.samplingSeconds = seconds(clock.now - samplingStart)
            return summary
        }
        try sampler.sweep(random: &random)
        summary.samplingIterationsDone += 1
        if m % options.thin == 0 {
            let row = columns.row(logDensity: sampler.logJointDensity(), beta: sampler.beta, sigma: columns.hasSigma ? sampler.sigma : nil,
                                  covariances: sampler.covariances, randomEffects: sampler.randomEffects)
            try sink.receive(row)
            summary.drawsKept += 1
        }
        sink.iterationFinished(options.warmup + m + 1)
    }
    summary.samplingSeconds = seconds(clock.now - samplingStart)
    return summary
}
