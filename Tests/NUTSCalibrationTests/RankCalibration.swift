import Dispatch
import Samplers
import Synchronization

/// What the NUTS SBC suites share (Talts et al. 2018): a sink that keeps a chain's rows, the
/// ranks of true values among kept draws, Pearson's χ² of ranks in equal bins, and replications
/// run in parallel with their failures collected.
enum RankCalibration {
    /// Keeps every row a chain hands over.
    final class Rows: PosteriorRowSink {
        var rows: [[Double]] = []
        func receive(_ row: [Double]) throws { rows.append(row) }
    }

    /// Chain options with Stan's NUTS defaults and these counts.
    static func options(warmup: Int, draws: Int, thin: Int = 1, seed: UInt64, chain: Int) -> ChainOptions {
        var options = ChainOptions()
        options.warmup = warmup
        options.draws = draws
        options.thin = thin
        options.seed = seed
        options.chain = chain
        return options
    }

    /// Per (column name, true value): how many kept draws lie below the truth (0…L).
    static func ranks(of truths: [(String, Double)], rows: [[Double]], names: [String]) -> [Int] {
        truths.map { name, truth in
            let column = names.firstIndex(of: name)!
            return rows.filter { $0[column] < truth }.count
        }
    }

    /// Pearson's χ² of ranks 0…`keptDraws` counted in `bins` equal bins ((L + 1) a multiple of
    /// `bins`), and the counts.
    static func chiSquare(_ ranks: [Int], keptDraws: Int, bins: Int = 10) -> (statistic: Double, counts: [Int]) {
        precondition((keptDraws + 1) % bins == 0)
        var counts = [Int](repeating: 0, count: bins)
        for rank in ranks { counts[rank * bins / (keptDraws + 1)] += 1 }
        let expected = Double(ranks.count) / Double(bins)
        return (counts.reduce(0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }, counts)
    }

    /// `body(r)` for r in 0..<count on every core; the results of those that returned, in order,
    /// and a message per one that threw.
    static func replicate<T: Sendable>(_ count: Int, _ body: @Sendable (Int) throws -> T) -> (results: [T], failures: [String]) {
        let results = Mutex([T?](repeating: nil, count: count))
        let failures = Mutex([String]())
        DispatchQueue.concurrentPerform(iterations: count) { replication in
            do {
                let result = try body(replication)
                results.withLock { $0[replication] = result }
            } catch {
                failures.withLock { $0.append("replication \(replication): \(error)") }
            }
        }
        return (results.withLock { $0.compactMap { $0 } }, failures.withLock { $0 })
    }
}
