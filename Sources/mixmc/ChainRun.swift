import ChainIO
import Dispatch
import Foundation
import ModelSpec
import Samplers
import Synchronization

/// How one chain of a run ended.
enum ChainOutcome: Sendable {
    case finished(GibbsChainSummary)
    case failed(String)
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

/// Sends a chain's kept draws to its Stan CSV writer and its iteration count to the display.
final class ChainFileSink: GibbsDrawSink {
    let writer: StanCSVWriter
    let progress: ChainProgress

    init(writer: StanCSVWriter, progress: ChainProgress) {
        self.writer = writer
        self.progress = progress
    }

    func receive(_ row: [Double]) throws { try writer.writeDraw(row) }

    func iterationFinished(_ iteration: Int) { progress.iteration.store(iteration, ordering: .relaxed) }
}

/// The chains of one `mixmc sample` run, in parallel threads, each with its own copy of the
/// sampler, its own random stream (seed, chain id) and its own file; SIGINT and SIGTERM set a stop
/// flag that every chain polls before each iteration.
///
/// `@unchecked Sendable`: the stored properties are immutable after `init`; the sampler is only
/// copied (each chain sweeps its own copy) and the mutable state is atomic.
final class ChainRun: @unchecked Sendable {
    let sampler: GibbsSampler
    let columns: OutputColumns
    let options: GibbsChainOptions
    let chainIDs: [Int]
    let files: [URL]
    let configuration: @Sendable (Int, URL) -> StanCSVConfiguration
    let progress: [ChainProgress]
    private let stopValue = Atomic<Int32>(0)
    private let outcomes: Mutex<[ChainOutcome?]>

    init(sampler: GibbsSampler, columns: OutputColumns, options: GibbsChainOptions, chainIDs: [Int], files: [URL],
         configuration: @escaping @Sendable (Int, URL) -> StanCSVConfiguration) {
        self.sampler = sampler
        self.columns = columns
        self.options = options
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
            ? ProgressDisplay(chainIDs: chainIDs, progress: progress, warmup: options.warmup,
                              total: options.warmup + options.draws)
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
            writer = try StanCSVWriter(url: file, configuration: configuration(id, file), columnNames: columns.names)
        } catch {
            return .failed("\(error)")
        }
        var options = self.options
        options.chain = id
        do {
            let summary = try runGibbsChain(sampler: sampler, columns: columns, options: options,
                                            sink: ChainFileSink(writer: writer, progress: progress),
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
