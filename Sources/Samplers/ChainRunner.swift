/// One chain's run: warmup and sampling lengths, thinning, the random stream's identity and the
/// NUTS settings. Defaults are CmdStan's.
public struct ChainOptions: Sendable {
    public var warmup = 1000
    public var draws = 1000
    /// Keep every `thin`-th iteration of each phase (the first one included), as CmdStan does.
    public var thin = 1
    /// Deliver warmup draws to the sink too (CmdStan's `save_warmup`).
    public var saveWarmup = false
    public var seed: UInt64 = 0
    /// Chain id; with `seed` it alone determines the random stream.
    public var chain = 1
    public var nuts = NUTSOptions()

    public init() {}
}

/// One delivered iteration.
public struct ChainDraw: Sendable {
    /// 1-based over the whole run (warmup iterations first).
    public var iteration: Int
    public var isWarmup: Bool
    /// θ, the unconstrained position.
    public var position: [Double]
    public var statistics: NUTSStatistics
}

/// Where a chain's output goes. Samplers never touch files: a writer implements this.
public protocol ChainSink: AnyObject {
    /// Called once, after warmup and before the first sampling draw.
    func adaptationFinished(_ adaptation: AdaptationResult)
    func receive(_ draw: ChainDraw)
    /// Called after every iteration (1-based over warmup then sampling, kept or not), for
    /// progress reports.
    func iterationFinished(_ iteration: Int)
}

extension ChainSink {
    public func adaptationFinished(_ adaptation: AdaptationResult) {}
    public func iterationFinished(_ iteration: Int) {}
}

/// How a run ended and what it counted.
public struct ChainSummary: Sendable {
    public var warmupIterationsDone = 0
    public var samplingIterationsDone = 0
    public var drawsDelivered = 0
    /// True when `shouldStop` ended the run early; what was delivered stays valid.
    public var stopped = false
    /// Set once warmup has finished.
    public var adaptation: AdaptationResult?
    public var divergentSamplingIterations = 0
    public var gradientEvaluationsWarmup = 0
    public var gradientEvaluationsSampling = 0
    /// Wall-clock seconds of each phase (the part done, when stopped).
    public var warmupSeconds = 0.0
    public var samplingSeconds = 0.0
}

/// Runs warmup then sampling for one chain of NUTS on `target` from `initialPosition`,
/// delivering each kept iteration to `sink`. `shouldStop` is polled before every iteration;
/// when it returns true the run ends at once with `stopped` set.
///
/// The random stream is `RandomStream(seed: options.seed, chain: options.chain)`, so a chain's
/// draws depend only on (target, initial position, options): chain k of a multi-chain run is
/// bit-identical to chain k run alone.
public func runChain<Target: LogDensity>(
    target: Target, initialPosition: [Double], options: ChainOptions,
    sink: some ChainSink, shouldStop: () -> Bool = { false }
) throws -> ChainSummary {
    try runChain(target: target, initialPosition: initialPosition, options: options,
                 random: RandomStream(seed: options.seed, chain: options.chain), sink: sink, shouldStop: shouldStop)
}

/// `runChain` drawing from `random`, a stream the caller owns and may also draw from between
/// iterations (in `sink`'s callbacks, which run on the chain's thread between transitions), so a
/// chain's NUTS transitions and its other draws (initial jitter, integrated-out effects) come
/// from one reproducible stream. `options.seed` and `options.chain` are not read.
public func runChain<Target: LogDensity>(
    target: Target, initialPosition: [Double], options: ChainOptions, random: RandomStream,
    sink: some ChainSink, shouldStop: () -> Bool = { false }
) throws -> ChainSummary {
    precondition(options.warmup >= 0 && options.draws >= 0 && options.thin >= 1)
    let clock = ContinuousClock()
    func seconds(since start: ContinuousClock.Instant) -> Double {
        let duration = clock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
    let sampler = try NUTSSampler(target: target, initialPosition: initialPosition,
                                  options: options.nuts, random: random)
    var summary = ChainSummary()

    // Without warmup nothing is adapted: the given step size and metric are used as they are,
    // as in Stan's non-adaptive runs.
    let warmupStart = clock.now
    if options.warmup > 0 {
        try sampler.beginWarmup(iterations: options.warmup)
        for m in 0..<options.warmup {
            if shouldStop() {
                summary.stopped = true
                summary.warmupSeconds = seconds(since: warmupStart)
                return summary
            }
            let statistics = try sampler.warmupTransition()
            summary.warmupIterationsDone += 1
            summary.gradientEvaluationsWarmup += statistics.leapfrogSteps
            if options.saveWarmup && m % options.thin == 0 {
                sink.receive(ChainDraw(iteration: m + 1, isWarmup: true, position: sampler.position,
                                       statistics: statistics))
                summary.drawsDelivered += 1
            }
            sink.iterationFinished(m + 1)
        }
    }
    let adaptation = options.warmup > 0 ? sampler.finishWarmup() : sampler.adaptation
    summary.adaptation = adaptation
    summary.warmupSeconds = seconds(since: warmupStart)
    sink.adaptationFinished(adaptation)

    let samplingStart = clock.now
    for m in 0..<options.draws {
        if shouldStop() {
            summary.stopped = true
            summary.samplingSeconds = seconds(since: samplingStart)
            return summary
        }
        let statistics = sampler.transition()
        summary.samplingIterationsDone += 1
        summary.gradientEvaluationsSampling += statistics.leapfrogSteps
        if statistics.divergent { summary.divergentSamplingIterations += 1 }
        if m % options.thin == 0 {
            sink.receive(ChainDraw(iteration: options.warmup + m + 1, isWarmup: false,
                                   position: sampler.position, statistics: statistics))
            summary.drawsDelivered += 1
        }
        sink.iterationFinished(options.warmup + m + 1)
    }
    summary.samplingSeconds = seconds(since: samplingStart)
    return summary
}
