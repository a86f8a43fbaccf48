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

/// A Gibbs sampler, built once and copied by each chain, or built by each chain on its own
/// thread from its own copy of the design (`Design.unsharedCopy`, `buildPerChain`), so that no
/// two chains share an array. The binomial and Poisson samplers are built per chain: their
/// sweeps copy the design's arrays, and with two chains on two cores every retain wrote one
/// reference count (two chains of cbpp took 1.6x one chain's time; docs/decisions.md). The
/// Gaussian samplers are built once: their sweeps work through buffers (no difference measured),
/// and building one per chain is dear on large data (a 10 + 10 InstEval run: 0.30 s, not 0.15 s).
struct GibbsChains<Sampler: GibbsChainSampler>: ChainAlgorithm, @unchecked Sendable {
    /// The sampler every chain copies; nil when each chain builds its own.
    let shared: Sampler?
    let design: Design
    let makeSampler: (Design) throws -> Sampler
    let columns: OutputColumns
    let options: GibbsChainOptions

    /// Builds one sampler first, so that a model the sampler cannot run is refused before any chain starts.
    init(design: Design, columns: OutputColumns, options: GibbsChainOptions, buildPerChain: Bool,
         makeSampler: @escaping (Design) throws -> Sampler) throws {
        let first = try makeSampler(design)
        shared = buildPerChain ? nil : first
        self.design = design
        self.makeSampler = makeSampler
        self.columns = columns
        self.options = options
    }

    var columnNames: [String] { columns.names }

    func runChain(id: Int, sink: ChainFileSink, shouldStop: @escaping () -> Bool) throws -> ChainReport {
        var options = self.options
        options.chain = id
        let sampler = try shared ?? makeSampler(design.unsharedCopy())
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
/// its iteration count to the display, and remembers how many rows the file held after each
/// iteration (so a run stopped at once can be cut back to a common iteration).
final class ChainFileSink: GibbsDrawSink, PosteriorRowSink {
    let writer: StanCSVWriter
    let progress: ChainProgress
    /// Rows written after iteration i + 1.
    private(set) var rowsAfterIteration: [Int] = []

    /// The iterations whose rows are all among the first `rows` rows of the file.
    func iterations(withinRows rows: Int) -> Int {
        var count = 0
        while count < rowsAfterIteration.count && rowsAfterIteration[count] <= rows { count += 1 }
        return count
    }

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

    func iterationFinished(_ iteration: Int) {
        rowsAfterIteration.append(writer.rowsWritten)
        progress.iteration.store(iteration, ordering: .sequentiallyConsistent)
    }

    /// Rows of the file after `iterations` iterations.
    func rows(afterIterations iterations: Int) -> Int {
        iterations > 0 ? rowsAfterIteration[iterations - 1] : 0
    }
}

/// The chains of one `mixmc sample` run, all in parallel threads from the start, each with its
/// own copy of the sampler, its own random stream (seed, chain id) and its own file.
///
/// Stopping (issue 12: after Ctrl-C the chains held different numbers of draws, which ArviZ and
/// R's posterior cannot read as one set): SIGINT, SIGTERM or SIGHUP asks every chain to stop at
/// one common iteration, the furthest any chain has reached, so the chains behind catch up and
/// every finished draw is kept, every file holding the same number of rows. The signal handler
/// first raises `stopRequested`, then reads every chain's iteration count and publishes the
/// target; a chain that sees the request before the target waits for it. Since a chain polls
/// before each iteration and finishes at most the iteration in flight, none passes the target.
/// A second signal stops every chain after its current iteration; the files are then cut back to
/// the shortest chain's iteration, so they still agree.
///
/// `@unchecked Sendable`: the stored properties are immutable after `init`; the algorithm is only
/// copied (each chain runs its own copy) and the mutable state is atomic or under a lock.
final class ChainRun: @unchecked Sendable {
    let algorithm: any ChainAlgorithm
    let warmup: Int
    let draws: Int
    let chainIDs: [Int]
    let files: [URL]
    let configuration: @Sendable (Int, URL) -> StanCSVConfiguration
    let progress: [ChainProgress]
    /// The first signal received (0: none).
    private let stopValue = Atomic<Int32>(0)
    /// 1 once a signal asked the chains to stop; the target follows.
    private let stopRequested = Atomic<Int>(0)
    /// The iteration every chain stops at (0: not yet known).
    private let stopTarget = Atomic<Int>(0)
    /// 1 after a second signal: stop at once.
    private let stopNow = Atomic<Int>(0)
    private let outcomes: Mutex<[ChainOutcome?]>
    /// Writers and sinks of chains stopped early, finished once every chain has stopped.
    private var stoppedChains: [Int: (writer: StanCSVWriter, sink: ChainFileSink, report: ChainReport)] = [:]
    private let stoppedChainsLock = NSLock()
    /// Rows per chain cut by the second-signal truncation (chain index → rows dropped).
    private(set) var rowsCut: [Int: Int] = [:]
    /// Chains whose writes failed (a full disk): index → iterations whose rows are whole on the
    /// disk. The other chains are then stopped at once and every file cut to one iteration.
    private var writeFailures: [Int: Int] = [:]
    /// True when a failed write stopped the run.
    var stoppedByWriteFailure: Bool { stoppedChainsLock.withLock { !writeFailures.isEmpty } }

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
        let value = stopValue.load(ordering: .sequentiallyConsistent)
        return value == 0 ? nil : value
    }

    /// True after a second signal stopped the chains at once.
    var stoppedAtOnce: Bool { stopNow.load(ordering: .sequentiallyConsistent) != 0 }

    static let stopSignals = [SIGINT, SIGTERM, SIGHUP]
    /// During a run a closed pipe or terminal (SIGPIPE) and a file-size limit (SIGXFSZ) make a
    /// write fail, which the writers handle, instead of killing the process.
    static let ignoredSignals = [SIGPIPE, SIGXFSZ]

    /// Runs every chain and returns their outcomes in `chainIDs` order. Signal handlers are
    /// installed for the run's duration only, and `ignoredSignals` ignored.
    func execute(showProgress: Bool) -> [ChainOutcome] {
        for number in Self.stopSignals + Self.ignoredSignals { signal(number, SIG_IGN) }
        let signalQueue = DispatchQueue(label: "mixmc.sample.signals")
        let sources = Self.stopSignals.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler { [self] in received(number) }
            source.resume()
            return source
        }
        defer {
            for source in sources { source.cancel() }
            for number in Self.stopSignals + Self.ignoredSignals { signal(number, SIG_DFL) }
        }

        let display = showProgress
            ? ProgressDisplay(chainIDs: chainIDs, progress: progress, warmup: warmup, total: warmup + draws)
            : nil
        display?.start()
        // One thread per chain, all at once (not one per core, in waves): a chain that has not
        // started cannot catch up when the run is stopped.
        let group = DispatchGroup()
        for index in chainIDs.indices {
            group.enter()
            let thread = Thread { [self] in
                let outcome = runChain(index)
                outcomes.withLock { $0[index] = outcome }
                group.leave()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        finishStoppedChains()
        display?.finish()
        return outcomes.withLock { $0.map { $0! } }
    }

    /// The signal handler (on the signal queue): the first signal sets the common target, a
    /// second one stops at once.
    private func received(_ number: Int32) {
        guard stopValue.compareExchange(expected: 0, desired: number, ordering: .sequentiallyConsistent).exchanged else {
            stopNow.store(1, ordering: .sequentiallyConsistent)
            return
        }
        stopRequested.store(1, ordering: .sequentiallyConsistent)
        let iterations = progress.map { $0.iteration.load(ordering: .sequentiallyConsistent) }
        let target = min((iterations.max() ?? 0) + 1, warmup + draws)
        stopTarget.store(target, ordering: .sequentiallyConsistent)
        if let behind = iterations.min(), target - behind > 1 {
            printError("stopping: every chain runs to iteration \(target) (the slowest is at \(behind)) so that all keep the same number of draws; signal again to stop at once and cut the files to the shortest chain")
        }
    }

    /// Polled by chain `index` before each iteration.
    private func shouldStop(_ index: Int) -> Bool {
        guard stopRequested.load(ordering: .sequentiallyConsistent) != 0 else { return false }
        while true {
            if stopNow.load(ordering: .sequentiallyConsistent) != 0 { return true }
            let target = stopTarget.load(ordering: .sequentiallyConsistent)
            if target > 0 { return progress[index].iteration.load(ordering: .sequentiallyConsistent) >= target }
            usleep(100)
        }
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
        let sink = ChainFileSink(writer: writer, progress: progress)
        do {
            let summary = try algorithm.runChain(id: id, sink: sink, shouldStop: { self.shouldStop(index) })
            if summary.stopped {
                // Finished (trailer) after every chain has stopped: a second signal may cut it.
                stoppedChainsLock.withLock { stoppedChains[index] = (writer, sink, summary) }
                try writer.flush()
                return .finished(summary)
            }
            try writer.finish(timing: StanCSVTiming(warmupSeconds: summary.warmupSeconds,
                                                    samplingSeconds: summary.samplingSeconds))
            return .finished(summary)
        } catch {
            try? writer.flush()
            guard writer.failure != nil else { return .failed("\(error)") }
            // A full disk fails every chain soon: stop them all now, and cut every file to one
            // iteration once they have stopped (`finishStoppedChains`).
            let report = ChainReport(warmupIterationsDone: min(progress.iteration.load(ordering: .sequentiallyConsistent), warmup),
                                     drawsKept: 0, stopped: true, warmupSeconds: 0, samplingSeconds: 0)
            stoppedChainsLock.withLock {
                writeFailures[index] = sink.iterations(withinRows: writer.rowsOnDisk)
                stoppedChains[index] = (writer, sink, report)
            }
            stopNow.store(1, ordering: .sequentiallyConsistent)
            stopRequested.store(1, ordering: .sequentiallyConsistent)
            return .failed("\(error)")
        }
    }

    /// Writes the trailer of every chain stopped early; after a second signal, first cuts every
    /// file back to the iteration the shortest chain reached.
    private func finishStoppedChains() {
        let (stopped, failures) = stoppedChainsLock.withLock { (stoppedChains, writeFailures) }
        guard !stopped.isEmpty else { return }
        let common = stoppedAtOnce
            ? stopped.keys.map { failures[$0] ?? progress[$0].iteration.load(ordering: .sequentiallyConsistent) }.min() ?? 0
            : nil
        var rewrites: [(index: Int, iterations: Int)] = []
        for (index, chain) in stopped.sorted(by: { $0.key < $1.key }) {
            var report = chain.report
            if failures[index] != nil {
                // A chain whose write failed: its file cut to the common iteration; a trailer if
                // the disk now has room (the cut files freed some), else whole rows without one.
                if let common { try? chain.writer.truncate(toRows: chain.sink.rows(afterIterations: common)) }
                try? chain.writer.finish(timing: StanCSVTiming(warmupSeconds: 0, samplingSeconds: 0))
                if let common { rewrites.append((index, common)) }
                continue
            }
            do {
                if let common {
                    let rows = chain.sink.rows(afterIterations: common)
                    if rows < chain.writer.rowsWritten {
                        rowsCut[index] = chain.writer.rowsWritten - rows
                        try chain.writer.truncate(toRows: rows)
                        report.drawsKept -= min(report.drawsKept, rowsCut[index]!)
                        report.warmupIterationsDone = min(report.warmupIterationsDone, common)
                    }
                }
                try chain.writer.finish(timing: StanCSVTiming(warmupSeconds: report.warmupSeconds,
                                                              samplingSeconds: report.samplingSeconds))
                rewrites.append((index, common ?? progress[index].iteration.load(ordering: .sequentiallyConsistent)))
                outcomes.withLock { $0[index] = .finished(report) }
            } catch {
                outcomes.withLock { $0[index] = .failed("\(error)") }
            }
        }
        // After every file is cut (on a full disk that frees the room the rewrites need).
        for (index, iterations) in rewrites {
            let (warmupRun, samplingRun) = (min(iterations, warmup), max(0, iterations - warmup))
            do {
                do {
                    try Self.recordIterationsRun(file: files[index], warmup: warmupRun, sampling: samplingRun)
                } catch {
                    // A file cut just below a size limit has no room for the comment line; the
                    // counts alone never make it longer (they only shrink).
                    try Self.recordIterationsRun(file: files[index], warmup: warmupRun, sampling: samplingRun, explaining: false)
                }
            } catch {
                // The rows stay whole; only readers that compare num_samples with them will object.
                printError("note: \(files[index].path): cannot record the iterations run in its configuration: \(error.localizedDescription)")
            }
        }
    }

    /// Rewrites `num_warmup` and `num_samples` in a stopped chain's configuration to the
    /// iterations it ran, so that readers which check the row count against them (CmdStanPy's
    /// `from_csv`: "expected 1000 draws, found 612") read the file; a comment line says why.
    /// Without `explaining`, the comment line is left out.
    static func recordIterationsRun(file: URL, warmup: Int, sampling: Int, explaining: Bool = true) throws {
        let text = try String(contentsOf: file, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var requested: [String: String] = [:]
        for (index, line) in lines.enumerated() {
            guard line.hasPrefix("#") else { break }
            for (key, value) in [("num_warmup", warmup), ("num_samples", sampling)] {
                let body = line.dropFirst().drop { $0 == " " }
                guard body.hasPrefix(key + " = ") else { continue }
                let indent = line.prefix { $0 == "#" || $0 == " " }
                requested[key] = String(body.dropFirst(key.count + 3)).replacingOccurrences(of: " (Default)", with: "")
                lines[index] = indent + "\(key) = \(value)"
            }
        }
        guard let header = lines.firstIndex(where: { !$0.hasPrefix("#") }) else { return }
        if explaining { lines.insert("# stopped early: num_warmup and num_samples are the iterations run (\(requested["num_warmup"] ?? "?") and \(requested["num_samples"] ?? "?") were asked for)", at: header) }
        try Data(lines.joined(separator: "\n").utf8).write(to: file, options: .atomic)
    }
}
