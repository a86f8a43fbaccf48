import ChainIO
import Dispatch
import Foundation
import ModelSpec
import Samplers
import Synchronization

/// What a finished (or stopped) chain reports, whatever its algorithm.
struct ChainReport: Sendable {
    var warmupIterationsDone: Int
    var drawsKept: Int
    var stopped: Bool
    var warmupSeconds: Double
    var samplingSeconds: Double
    /// Leapfrog steps (gradient evaluations) of NUTS in warmup and in sampling; 0 for Gibbs.
    var gradientEvaluationsWarmup = 0
    var gradientEvaluationsSampling = 0
}

/// How one chain of a run ended.
enum ChainOutcome: Sendable {
    case finished(ChainReport)
    case failed(String)
}

/// One algorithm's chains as a run executes them: the columns of its files, and one chain's run
/// writing to its file. Each chain's random stream is `RandomStream(seed:chain: id)`.
protocol ChainAlgorithm: Sendable {
    var columnNames: [String] { get }
    func runChain(id: Int, sink: ChainFileSink, shouldStop: @escaping () -> Bool) throws -> ChainReport
}

/// A Gibbs sampler (the blocked `GibbsSampler` or `CollapsedCrossedGibbs`): each chain sweeps
/// its own copy of `sampler`.
struct GibbsChains<Sampler: GibbsChainSampler>: ChainAlgorithm, @unchecked Sendable {
    let sampler: Sampler
    let columns: OutputColumns
    let options: GibbsChainOptions

    var columnNames: [String] { columns.names }

    func runChain(id: Int, sink: ChainFileSink, shouldStop: @escaping () -> Bool) throws -> ChainReport {
        var options = self.options
        options.chain = id
        let summary = try runGibbsChain(sampler: sampler, columns: columns, options: options, sink: sink, shouldStop: shouldStop)
        return ChainReport(warmupIterationsDone: summary.warmupIterationsDone, drawsKept: summary.drawsKept,
                           stopped: summary.stopped, warmupSeconds: summary.warmupSeconds,
                           samplingSeconds: summary.samplingSeconds)
    }
}

/// NUTS on the full or collapsed log-posterior, every chain from `start` jittered with its own stream.
struct NUTSChains: ChainAlgorithm {
    let posterior: PosteriorNUTS
    let start: PosteriorStart
    let options: ChainOptions

    var columnNames: [String] { posterior.columnNames }

    func runChain(id: Int, sink: ChainFileSink, shouldStop: @escaping () -> Bool) throws -> ChainReport {
        var options = self.options
        options.chain = id
        let summary = try posterior.run(start: start, options: options, sink: sink, shouldStop: shouldStop)
        let warmupRows = options.saveWarmup ? (summary.warmupIterationsDone + options.thin - 1) / options.thin : 0
        return ChainReport(warmupIterationsDone: summary.warmupIterationsDone, drawsKept: summary.drawsDelivered - warmupRows,
                           stopped: summary.stopped, warmupSeconds: summary.warmupSeconds,
                           samplingSeconds: summary.samplingSeconds,
                           gradientEvaluationsWarmup: summary.gradientEvaluationsWarmup,
                           gradientEvaluationsSampling: summary.gradientEvaluationsSampling)
    }
}

/// One chain's progress, written by its thread and read by the progress display.
final class ChainProgress: Sendable {
    /// Iterations finished (warmup and sampling).
    let iteration = Atomic<Int>(0)
    /// When the chain started, in `DispatchTime` nanoseconds; 0 while it waits for a thread.
    let startNanoseconds = Atomic<UInt64>(0)
    /// When the chain ended (finished, stopped or failed), in `DispatchTime` nanoseconds; 0 before.
    let endNanoseconds = Atomic<UInt64>(0)
}

/// Sends a chain's kept draws (and, for NUTS, its adaptation block) to its Stan CSV writer and
/// its iteration count to the display.
final class ChainFileSink: GibbsDrawSink, PosteriorRowSink {
    let writer: StanCSVWriter
    let progress: ChainProgress

    init(writer: StanCSVWriter, progress: ChainProgress) {
        self.writer = writer
        self.progress = progress
    }

    func receive(_ row: [Double]) throws { try writer.writeDraw(row) }

    func adaptationFinished(_ adaptation: AdaptationResult) throws {
        let metric: StanCSVAdaptation.Metric
        switch adaptation.metric.inverseMass {
        case .diagonal(let values): metric = .diagonal(values)
        case .dense(let matrix): metric = .dense((0..<matrix.rows).map { r in (0..<matrix.columns).map { matrix[r, $0] } })
        }
        try writer.writeAdaptation(StanCSVAdaptation(stepSize: adaptation.stepSize, metric: metric))
    }

    func iterationFinished(_ iteration: Int) { progress.iteration.store(iteration, ordering: .relaxed) }
}

/// The chains of one `mixmc sample` run, in parallel threads, each with its own copy of the
/// sampler, its own random stream (seed, chain id) and its own file; SIGINT and SIGTERM set a stop
/// flag that every chain polls before each iteration.
///
/// `@unchecked Sendable`: the stored properties are immutable after `init`; the algorithm is only
/// copied (each chain runs its own copy) and the mutable state is atomic.
final class ChainRun: @unchecked Sendable {
    let algorithm: any ChainAlgorithm
    let warmup: Int
    let draws: Int
    let chainIDs: [Int]
    let files: [URL]
    let configuration: @Sendable (Int, URL) -> StanCSVConfiguration
    let progress: [ChainProgress]
    private let stopValue = Atomic<Int32>(0)
    private let outcomes: Mutex<[ChainOutcome?]>

    init(algorithm: any ChainAlgorithm, warmup: Int, draws: Int, chainIDs: [Int], files: [URL],
         configuration: @escaping @Sendable (Int, URL) -> StanCSVConfiguration) {
        self.algorithm = algorithm
        self.warmup = warmup
        self.draws = draws
        self.chainIDs = chainIDs
        self.files = files
        self.configuration = configuration
        progress = chainIDs.map { _ in ChainProgress() }
        outcomes = Mutex(Array(repeating: nil, count: chainIDs.count))
    }

    /// The signal that stopped the run, if one did.
    var stopSignal: Int32? {
        let value = stopValue.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    /// Runs every chain and returns their outcomes in `chainIDs` order. Signal handlers are
    /// installed for the run's duration only.
    func execute(showProgress: Bool) -> [ChainOutcome] {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let signalQueue = DispatchQueue(label: "mixmc.sample.signals")
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler { [self] in
                _ = stopValue.compareExchange(expected: 0, desired: number, ordering: .relaxed)
            }
            source.resume()
            return source
        }
        defer {
            for source in sources { source.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }

        let display = showProgress
            ? ProgressDisplay(chainIDs: chainIDs, progress: progress, warmup: warmup, total: warmup + draws)
            : nil
        display?.start()
        DispatchQueue.concurrentPerform(iterations: chainIDs.count) { index in
            let outcome = runChain(index)
            outcomes.withLock { $0[index] = outcome }
        }
        display?.finish()
        return outcomes.withLock { $0.map { $0! } }
    }

    private func runChain(_ index: Int) -> ChainOutcome {
        let id = chainIDs[index]
        let file = files[index]
        let progress = self.progress[index]
        progress.startNanoseconds.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
        defer { progress.endNanoseconds.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }
        let writer: StanCSVWriter
        do {
            writer = try StanCSVWriter(url: file, configuration: configuration(id, file), columnNames: algorithm.columnNames)
        } catch {
            return .failed("\(error)")
        }
        do {
            let summary = try algorithm.runChain(id: id, sink: ChainFileSink(writer: writer, progress: progress),
                                                 shouldStop: { self.stopValue.load(ordering: .relaxed) != 0 })
            try writer.finish(timing: StanCSVTiming(warmupSeconds: summary.warmupSeconds,
                                                    samplingSeconds: summary.samplingSeconds))
            return .finished(summary)
        } catch {
            try? writer.flush()
            return .failed("\(error)")
        }
    }
}
