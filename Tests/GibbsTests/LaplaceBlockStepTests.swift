import Foundation
import ModelSpec
import Testing
@testable import Samplers

/// `LaplaceBlockStep` leaves its block's conditional invariant: many steps on one scalar block
/// (the rest of η held) against the conditional's exact density on a grid, the wide component the
/// prior's (a level) or the Laplace approximation's (β).
@Suite struct LaplaceBlockStepTests {
    /// A level of a Poisson random intercept: counts 0, 3 and 50 at rest-of-η −1, 0.5 and 2 (so
    /// the conditional is skewed), prior N(0, 0.8²).
    static let counts = [0.0, 3, 50]
    static let rest = [-1.0, 0.5, 2.0]
    static let priorSD = 0.8

    static func exactConditional() -> GridDistribution {
        let points = (0..<40000).map { -4 + 8 * (Double($0) + 0.5) / 40000 }
        let logDensities = points.map { b in
            zip(counts, rest).reduce(-0.5 * b * b / (priorSD * priorSD)) { total, row in total + row.0 * (row.1 + b) - exp(row.1 + b) }
        }
        return GridDistribution(points: points, logDensities: logDensities)
    }

    @Test(arguments: [true, false])
    func stepsLeaveTheConditionalInvariant(priorWide: Bool) throws {
        let family = try Family(.poisson)
        let n = Self.counts.count
        // The anchor η̂ = rest + 1: far enough from the mode that Newton's method has work to do.
        let anchor = Self.rest.map { $0 + 1 }
        let anchorWeights = anchor.map { exp($0) }
        let anchorWorking = zip(anchor, Self.counts).map { eta, y in eta + (y - exp(eta)) / exp(eta) }
        let step = LaplaceBlockStep(family: family, response: Self.counts, priorWeights: nil, anchorWeights: anchorWeights,
                                    anchorWorking: anchorWorking, maximumRows: n, maximumOrder: 1)
        let rows = (0..<n).map { Int32($0) }
        let values = [Double](repeating: 1, count: n)
        var precision = [1 / (Self.priorSD * Self.priorSD)]
        var shift = [0.0]
        let priorFactor = [1 / Self.priorSD]
        var current = [0.0]
        var eta = Self.rest
        let random = RandomStream(seed: 17, chain: priorWide ? 1 : 2)
        var draws: [Double] = []
        for _ in 0..<40000 {
            rows.withUnsafeBufferPointer { rows in
                priorFactor.withUnsafeBufferPointer { factor in
                    _ = step.step(rows: rows, values: values, order: 1, current: &current, priorPrecision: &precision,
                                  priorShift: &shift, priorFactor: priorWide ? factor.baseAddress : nil, patterns: nil, linearPredictor: &eta,
                                  random: random)
                }
            }
            draws.append(current[0])
            #expect(abs(eta[0] - (Self.rest[0] + current[0])) < 1e-12)
        }
        expectDraws(draws, match: Self.exactConditional(), "b (wide from the \(priorWide ? "prior" : "Laplace approximation"))")
    }

    /// A two-coefficient block (1, x) as β of a Poisson model: four rows, counts 0-40, prior
    /// N(0, I); each coefficient's marginal against the exact density on a 2-D grid, with one
    /// Metropolis-Hastings try a step and with two from the same approximation (β's, eq. 107).
    @Test(arguments: [1, 2])
    func twoCoefficientStepsLeaveTheConditionalInvariant(tries: Int) throws {
        let family = try Family(.poisson)
        let counts = [0.0, 2, 9, 40], x = [-1.0, -0.3, 0.4, 1.2], rest = [0.3, -0.2, 0.5, 0.1]
        let n = counts.count
        func logDensity(_ a: Double, _ b: Double) -> Double {
            (0..<n).reduce(-0.5 * (a * a + b * b)) { total, i in
                let eta = rest[i] + a + b * x[i]
                return total + counts[i] * eta - exp(eta)
            }
        }
        let grid = (0..<800).map { -3 + 7 * (Double($0) + 0.5) / 800 }
        var marginals = [[Double]](repeating: [Double](repeating: 0, count: grid.count), count: 2)
        let top = logDensity(1.5, 1.2)
        for (i, a) in grid.enumerated() {
            for (j, b) in grid.enumerated() {
                let mass = exp(logDensity(a, b) - top)
                marginals[0][i] += mass
                marginals[1][j] += mass
            }
        }
        let anchorWeights = rest.map { exp($0) }
        let anchorWorking = zip(rest, counts).map { eta, y in eta + (y - exp(eta)) / exp(eta) }
        let step = LaplaceBlockStep(family: family, response: counts, priorWeights: nil, anchorWeights: anchorWeights,
                                    anchorWorking: anchorWorking, maximumRows: n, maximumOrder: 2)
        let rows = (0..<n).map { Int32($0) }
        let values: [Double] = (0..<n).flatMap { [1.0, x[$0]] }
        var precision = [1.0, 0, 0, 1], shift = [0.0, 0], current = [0.0, 0]
        var eta = rest
        let random = RandomStream(seed: 29, chain: 1)
        var draws: [[Double]] = [[], []]
        for _ in 0..<40000 {
            rows.withUnsafeBufferPointer { rows in
                _ = step.step(rows: rows, values: values, order: 2, current: &current, priorPrecision: &precision,
                              priorShift: &shift, priorFactor: nil, patterns: nil, linearPredictor: &eta, random: random, tries: tries)
            }
            draws[0].append(current[0])
            draws[1].append(current[1])
        }
        for c in 0..<2 {
            expectDraws(draws[c], match: GridDistribution(points: grid, masses: marginals[c]), "θ\(c), \(tries) tries")
        }
    }

    /// Rows that share their values (`RowPatterns`) take the same steps, bit for bit, as the rows
    /// one by one: a binomial logit block (1, x) whose six rows take three values of x, from the
    /// same random stream.
    @Test func rowPatternsTakeTheSameSteps() throws {
        let family = try Family(.binomial, link: .logit)
        let x = [-1.0, 0.4, -1.0, 0.4, 1.2, 1.2], rest = [0.3, -0.2, 0.5, 0.1, -0.7, 0.9]
        let proportions = [0.2, 0.5, 0.1, 0.7, 0.9, 0.6], trials = [10.0, 4, 20, 10, 10, 5]
        let n = x.count
        let values: [Double] = (0..<n).flatMap { [1.0, x[$0]] }
        let table = try #require(RowPatternTable(values: values, order: 2, rowCount: n))
        #expect(table.count == 3)
        func run(patterns usePatterns: Bool) -> [Double] {
            let anchorWeights = zip(rest, trials).map { eta, w in w * exp(eta) / ((1 + exp(eta)) * (1 + exp(eta))) }
            let anchorWorking = (0..<n).map { i in
                let mu = 1 / (1 + exp(-rest[i]))
                return rest[i] + (proportions[i] - mu) / (mu * (1 - mu))
            }
            let step = LaplaceBlockStep(family: family, response: proportions, priorWeights: trials, anchorWeights: anchorWeights,
                                        anchorWorking: anchorWorking, maximumRows: n, maximumOrder: 2)
            let rows = (0..<n).map { Int32($0) }
            var precision = [0.01, 0, 0, 0.01], shift = [0.0, 0], current = [0.0, 0]
            var eta = rest
            let random = RandomStream(seed: 41, chain: 1)
            var draws: [Double] = []
            for _ in 0..<2000 {
                rows.withUnsafeBufferPointer { rows in
                    RowPatternTable.withPatterns(usePatterns ? table : nil) { patterns in
                        _ = step.step(rows: rows, values: values, order: 2, current: &current, priorPrecision: &precision,
                                      priorShift: &shift, priorFactor: nil, patterns: patterns, linearPredictor: &eta, random: random, tries: 2)
                    }
                }
                draws += current + eta
            }
            return draws
        }
        let byRow = run(patterns: false), byPattern = run(patterns: true)
        #expect(byRow.map(\.bitPattern) == byPattern.map(\.bitPattern))
        #expect(Set(byRow).count > 1000)
    }
}
