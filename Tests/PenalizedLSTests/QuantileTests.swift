import Testing
@testable import PenalizedLS

/// The summary's "Scaled residuals" line takes R's type-7 quantiles (`quantile()`), found by
/// selection instead of a sort: values from R 4's `quantile`, ties, one and two values, and the
/// same numbers as a sort gives on a large shuffled sample (whatever order it comes in).
@Suite struct QuantileTests {
    @Test func matchesR() {
        #expect(typeSevenQuantiles([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], at: [0, 0.25, 0.5, 0.75, 1]) == [1, 2.5, 4, 5, 9])
        #expect(typeSevenQuantiles([2.5, -1, 2.5, 2.5, 0.125, 7, -1, 7], at: [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1])
                == [-1, -1, -0.15625, 2.5, 3.625, 7, 7])
        #expect(typeSevenQuantiles([4.2], at: [0, 0.25, 0.5, 1]) == [4.2, 4.2, 4.2, 4.2])
        #expect(typeSevenQuantiles([-3, 8], at: [0, 0.25, 0.5, 0.75, 1]) == [-3, -0.25, 2.5, 5.25, 8])
        let empty = typeSevenQuantiles([], at: [0.5])
        #expect(empty.count == 1 && empty[0].isNaN)
    }

    @Test(arguments: [1, 2, 3, 10, 1001, 100_000])
    func equalsTheSortedOrderStatistics(_ count: Int) {
        var state: UInt64 = UInt64(count)
        let values = (0..<count).map { _ -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int(state >> 40) % 997) / 7 - 50   // many ties
        }
        let sorted = values.sorted()
        let probabilities = [0, 0.25, 0.5, 0.75, 1, 0.1, 0.999]
        let expected = probabilities.map { probability -> Double in
            let h = Double(count - 1) * probability
            let low = Int(h.rounded(.down)), high = min(low + 1, count - 1)
            return sorted[low] + (h - Double(low)) * (sorted[high] - sorted[low])
        }
        #expect(typeSevenQuantiles(values, at: probabilities) == expected)
        #expect(typeSevenQuantiles(sorted, at: probabilities) == expected)
        #expect(typeSevenQuantiles(sorted.reversed(), at: probabilities) == expected)
    }
}
