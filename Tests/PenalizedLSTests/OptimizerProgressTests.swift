import Testing
@testable import PenalizedLS
import Synchronization

/// Issue 12, item 6: a long optimization reports progress (evaluations and the lowest value so
/// far) instead of running silently; the reports do not change the result.
@Suite struct OptimizerProgressTests {
    @Test func progressIsReportedWithTheLowestValueSoFar() {
        let reports = Mutex<[(Int, Double)]>([])
        var options = BoundedOptimizer.Options()
        options.progressInterval = .zero
        options.progress = { evaluations, best in reports.withLock { $0.append((evaluations, best)) } }
        let objective: ([Double]) -> Double = { x in (x[0] - 1) * (x[0] - 1) + (x[1] - 2) * (x[1] - 2) + 3 }
        let silent = BoundedOptimizer().minimize(objective, start: [0.5, 0.5], lowerBounds: [0, 0])
        let reported = BoundedOptimizer(options: options).minimize(objective, start: [0.5, 0.5], lowerBounds: [0, 0])
        #expect(reported.minimizer == silent.minimizer && reported.evaluations == silent.evaluations)
        let seen = reports.withLock { $0 }
        #expect(seen.count == reported.evaluations)
        #expect(seen.map(\.0) == Array(1...reported.evaluations))
        #expect(zip(seen, seen.dropFirst()).allSatisfy { pair in pair.1.1 <= pair.0.1 })
        #expect(abs(seen.last!.1 - 3) < 1e-10)
    }
}
