import Foundation
import Linalg
import ModelSpec

/// One Metropolis-Hastings step of `IRLSProposalGibbs` for one block θ of k coefficients (β, or
/// one level of one term) that enters η on some rows as vᵢᵀθ (docs/math.md, eq. 107): an
/// independence proposal given the rest of the state, the Laplace approximation at the block's
/// conditional mode (Newton's method by IRLS steps from a start free of θ, each step halved while
/// it lowers the conditional), mixed with a wide component centred at the same mode: the prior's
/// covariance when the caller passes its factor (a level of b), else the Laplace covariance
/// `laplaceWideScale`² times (β).
///
/// The proposal depends on the rest of η and on the prior only, never on the current θ: that
/// keeps the step exact whether or not Newton's method has fully converged. Every scratch
/// buffer is allocated once, for the largest block; a step allocates nothing. Not thread-safe:
/// one per chain (`IRLSProposalGibbs` copies it when it is shared).
final class LaplaceBlockStep {
    /// The wide component's share of a block's proposal. An independence proposal whose tails
    /// are lighter than its target's traps the chain in the tails: a level whose counts are all 0
    /// has a conditional shaped by its prior below the mode (width τ) and a Laplace
    /// approximation as narrow as the few expected counts make it, so a chain that had drifted to
    /// τ of thousands stayed there (docs/calibration.md). The prior's covariance is never
    /// narrower than the Laplace approximation's (P = Q + data).
    static let wideShare = 0.1
    /// The wide component's scale against the Laplace approximation when no prior factor is given.
    static let laplaceWideScale = 2.0
    /// The logarithms of the mixture's weights and of the wide scale, formed once.
    private static let logNarrowShare = log(1 - wideShare), logWideShare = log(wideShare)
    private static let logLaplaceWideScale = log(laplaceWideScale)
    /// Newton's method stops when its decrement (m − θ)ᵀP(m − θ) falls below this, or after
    /// `maximumNewtonIterations` steps; the last step's m and P make the proposal. The step is
    /// exact wherever Newton stops; a decrement of 0.3 leaves m about 0.3 proposal SDs from the
    /// mode (the next step's decrement is of order its square). cbpp, 10 seeds of 4 x (1000 + 5000):
    /// the smallest bulk ESS 15.2k at 10⁻², 15.1k at 0.3, 14.7k at 1, for 4.7 % and 7 % fewer
    /// instructions than at 10⁻² (docs/benchmarks.md, session 11); 10⁻⁸ had the acceptance rates
    /// of 10⁻² with twice the Newton steps.
    static let newtonDecrementTolerance = 0.3
    static let maximumNewtonIterations = 50
    /// Newton steps whose decrement is below this are not checked against the conditional: a step
    /// within one proposal SD of where it starts. β's first step from the anchored start has a
    /// decrement of 0.1-1 in three sweeps of four on cbpp (0.1 made that a pass over every row);
    /// a step that overshoots there only costs Newton another step, never exactness.
    static let quadraticRegion = 1.0
    /// Halvings of a Newton step before Newton's method stops where it is (2⁻⁶⁰ of a step).
    static let maximumHalvings = 60

    private let family: Family
    private let maximumRows: Int
    private let response: [Double]
    private let priorWeights: [Double]?
    private let maximumOrder: Int
    /// Per row, the IRLS weight and working response at a fixed anchor η̂ (the sampler's start):
    /// Newton's method starts from the block's IRLS solution with these in place of the weights
    /// at the current η, a start that costs no pass of the link's transcendentals and lies close
    /// to the conditional mode wherever the rest of η is near η̂.
    private let anchorWeights: [Double]
    private let anchorWorking: [Double]
    /// Per row of the block: η minus the block's part.
    private let rest: UnsafeMutablePointer<Double>
    /// Per row of the block: the IRLS weight and target of a Newton step, formed before the
    /// accumulation so that its sums stay in registers (the link's exp is a call).
    private let rowWeights, rowTargets: UnsafeMutablePointer<Double>
    /// Per row pattern (`RowPatterns`): the change of a try and its `Family.changeFactor`.
    private let patternChanges, patternFactors: UnsafeMutablePointer<Double>
    /// Per row of a try: η, the change and its factor; for a binomial logit block (`LogisticRows`)
    /// also logistic(η) and the log1p's scratch.
    private let rowEtas, rowChanges, rowFactors, rowBases, rowTerms: UnsafeMutablePointer<Double>
    /// Whether the family is binomial with the logit link (`LogisticRows`).
    private let logisticRows: Bool
    /// Blocks of fewer rows (a level of a random intercept) take the rows one at a time: four at
    /// a time pays only past a few vectors.
    static let minimumVectorRows = 8
    /// k-vectors: the Newton point, the next point, the proposal mean, the proposal, the noise.
    private let point, next, mean, proposed, noise: UnsafeMutablePointer<Double>
    /// k × k: the lower Cholesky factor of P.
    private let factor: UnsafeMutablePointer<Double>

    init(family: Family, response: [Double], priorWeights: [Double]?, anchorWeights: [Double], anchorWorking: [Double],
         maximumRows: Int, maximumOrder: Int) {
        self.family = family
        self.response = response
        self.priorWeights = priorWeights
        self.anchorWeights = anchorWeights
        self.anchorWorking = anchorWorking
        self.maximumRows = maximumRows
        self.maximumOrder = maximumOrder
        rest = .allocate(capacity: max(maximumRows, 1))
        logisticRows = family.kind == .binomial && family.link == .logit
        rowEtas = .allocate(capacity: max(maximumRows, 1))
        rowChanges = .allocate(capacity: max(maximumRows, 1))
        rowFactors = .allocate(capacity: max(maximumRows, 1))
        rowBases = .allocate(capacity: max(maximumRows, 1))
        rowTerms = .allocate(capacity: max(maximumRows, 1))
        rowWeights = .allocate(capacity: max(maximumRows, 1))
        rowTargets = .allocate(capacity: max(maximumRows, 1))
        patternChanges = .allocate(capacity: RowPatternTable.maximumCount)
        patternFactors = .allocate(capacity: RowPatternTable.maximumCount)
        let k = max(maximumOrder, 1)
        point = .allocate(capacity: k)
        next = .allocate(capacity: k)
        mean = .allocate(capacity: k)
        proposed = .allocate(capacity: k)
        noise = .allocate(capacity: k)
        factor = .allocate(capacity: k * k)
    }

    /// A step with the same data and scratch of its own.
    func copy() -> LaplaceBlockStep {
        LaplaceBlockStep(family: family, response: response, priorWeights: priorWeights, anchorWeights: anchorWeights,
                         anchorWorking: anchorWorking, maximumRows: maximumRows, maximumOrder: maximumOrder)
    }

    deinit {
        for buffer in [rest, rowEtas, rowChanges, rowFactors, rowBases, rowTerms, rowWeights, rowTargets, patternChanges, patternFactors, point, next, mean, proposed, noise, factor] { buffer.deallocate() }
    }

    /// The step for the block on `rows`, whose values vᵢ are `values` row by row (k per row, in
    /// the order of `rows`), at `current`, with prior precision Q and Q times the prior mean
    /// (`priorShift`), Newton's method from the anchored start (`anchoredStart`). When the
    /// proposal is accepted, writes it to `current`, moves `linearPredictor` on the block's rows
    /// to it and returns true. `tries` Metropolis-Hastings steps share the one approximation.
    func step(rows: UnsafeBufferPointer<Int32>, values: UnsafePointer<Double>, order k: Int,
              current: UnsafeMutablePointer<Double>, priorPrecision: UnsafePointer<Double>, priorShift: UnsafePointer<Double>,
              priorFactor: UnsafePointer<Double>?, patterns: RowPatterns?, linearPredictor: UnsafeMutablePointer<Double>,
              random: RandomStream, tries: Int = 1) -> Bool {
        precondition(k <= maximumOrder)
        // Small blocks (the levels of a random intercept, β of a few columns) are most of the
        // steps: a copy of the body for each small k, known at compile time, lets the compiler
        // unroll every loop over k.
        func body<Order: BlockOrder>(_ order: Order.Type) -> Bool {
            stepBody(order, rows: rows, values: values, order: k, current: current, priorPrecision: priorPrecision,
                     priorShift: priorShift, priorFactor: priorFactor, patterns: patterns, linearPredictor: linearPredictor,
                     random: random, tries: tries)
        }
        switch k {
        case 1: return body(Order1.self)
        case 2: return body(Order2.self)
        case 3: return body(Order3.self)
        case 4: return body(Order4.self)
        default: return body(AnyOrder.self)
        }
    }

    private func stepBody<Order: BlockOrder>(_: Order.Type, rows: UnsafeBufferPointer<Int32>, values: UnsafePointer<Double>, order runtimeOrder: Int,
                                             current: UnsafeMutablePointer<Double>, priorPrecision: UnsafePointer<Double>, priorShift: UnsafePointer<Double>,
                                             priorFactor: UnsafePointer<Double>?, patterns: RowPatterns?,
                                             linearPredictor: UnsafeMutablePointer<Double>, random: RandomStream, tries: Int) -> Bool {
        let k = Order.order(runtimeOrder)
        for (a, row) in rows.enumerated() {
            var s = 0.0
            let v = values + a &* k
            for c in 0..<k { s += v[c] * current[c] }
            rest[a] = linearPredictor[Int(row)] - s
        }
        anchoredStart(rows: rows, values: values, order: k, priorPrecision: priorPrecision, priorShift: priorShift)
        var formed = false
        for _ in 0..<Self.maximumNewtonIterations {
            guard irlsStep(rows: rows, values: values, order: k, at: point, priorPrecision: priorPrecision, priorShift: priorShift) else { return false }
            formed = true
            let decrement = squaredDistance(point, factor: factor, order: k)
            if decrement < Self.newtonDecrementTolerance { break }
            next.update(from: mean, count: k)
            // A step of decrement below `quadraticRegion` is taken whole: there the quadratic
            // model is close, and checking the conditional would cost a pass over the rows.
            // Further out it is halved until the conditional rises: from far below the mode of
            // a level with counts of 10⁷ the full step overshoots η by 10⁶.
            if decrement >= Self.quadraticRegion {
                var fraction = 1.0
                var halvings = 0
                while !(logTargetChange(rows: rows, values: values, order: k, patterns: patterns, from: point, to: next,
                                                priorPrecision: priorPrecision, priorShift: priorShift) >= 0) {
                    halvings += 1
                    guard halvings <= Self.maximumHalvings else { break }
                    fraction /= 2
                    for c in 0..<k { next[c] = point[c] + fraction * (mean[c] - point[c]) }
                }
                if halvings > Self.maximumHalvings { break }
            }
            point.update(from: next, count: k)
        }
        guard formed else { return false }
        // The wide component N(m, c²(F Fᵀ)⁻¹): F the prior precision's factor (c = 1), or the
        // Laplace precision's (c = `laplaceWideScale`).
        let wideFactor = UnsafePointer(priorFactor ?? UnsafePointer(factor))
        let wideScale = priorFactor == nil ? Self.laplaceWideScale : 1
        // log q(x), the mixture's density up to a constant: each component's log weight and log
        // determinant once, then per x the two quadratic forms and log(e^a + e^b).
        var narrowConstant = Self.logNarrowShare
        var wideConstant = Self.logWideShare - Double(k) * (priorFactor == nil ? Self.logLaplaceWideScale : 0)
        for c in 0..<k {
            narrowConstant += log(factor[c * (k + 1)])
            wideConstant += log(wideFactor[c * (k + 1)])
        }
        func logProposal(_ x: UnsafePointer<Double>) -> Double {
            let narrowTerm = narrowConstant - 0.5 * squaredDistance(x, factor: factor, order: k)
            let wideTerm = wideConstant - 0.5 * squaredDistance(x, factor: wideFactor, order: k) / (wideScale * wideScale)
            return max(narrowTerm, wideTerm) + log1p(exp(-abs(narrowTerm - wideTerm)))
        }
        // The proposal depends on the rest of η only, which the block's own moves leave alone:
        // every try is a Metropolis-Hastings step from the same approximation, and η is needed
        // on the block's rows only after the last (`logTargetChange` works from `rest`).
        var logProposalAtCurrent = logProposal(current)
        var moved = false
        for _ in 0..<tries {
            let wide = random.uniform() < Self.wideShare
            let scale = wide ? wideScale : 1
            for c in 0..<k { noise[c] = random.standardNormal() }
            SmallDense.solveLowerTransposed(wide ? wideFactor : UnsafePointer(factor), order: k, noise)
            for c in 0..<k { proposed[c] = mean[c] + scale * noise[c] }
            let targetChange = logTargetChange(rows: rows, values: values, order: k, patterns: patterns, from: current, to: proposed,
                                               priorPrecision: priorPrecision, priorShift: priorShift)
            guard targetChange.isFinite else { continue }
            let logProposalAtProposed = logProposal(proposed)
            let logRatio = targetChange + logProposalAtCurrent - logProposalAtProposed
            guard logRatio >= 0 || log(random.uniform()) < logRatio else { continue }
            current.update(from: proposed, count: k)
            logProposalAtCurrent = logProposalAtProposed
            moved = true
        }
        guard moved else { return false }
        for (a, row) in rows.enumerated() { linearPredictor[Int(row)] = eta(a, values: values, order: k, at: current) }
        return true
    }

    @inline(__always)
    private func eta(_ a: Int, values: UnsafePointer<Double>, order k: Int, at theta: UnsafePointer<Double>) -> Double {
        var s = rest[a]
        let v = values + a &* k
        for c in 0..<k { s += v[c] * theta[c] }
        return s
    }

    /// log π(θ') − log π(θ) of the block's conditional, the likelihood's part row by row in the
    /// change of η (`Family.logLikelihoodChange`: exact for large counts, where the two
    /// log-likelihoods' own values lose the difference). Rows of one pattern share the change and
    /// its factor, formed once: the same operations on the same values, so the same bits. A
    /// binomial logit block of `minimumVectorRows` or more takes its exp and log1p four at a time
    /// (`LogisticRows`), a value only ever compared.
    @inline(__always)
    private func logTargetChange(rows: UnsafeBufferPointer<Int32>, values: UnsafePointer<Double>, order k: Int, patterns: RowPatterns?,
                                 from theta: UnsafePointer<Double>, to other: UnsafePointer<Double>,
                                 priorPrecision: UnsafePointer<Double>, priorShift: UnsafePointer<Double>) -> Double {
        func change(_ v: UnsafePointer<Double>) -> Double {
            var d = 0.0
            for c in 0..<k { d += v[c] * (other[c] - theta[c]) }
            return d
        }
        if let patterns {
            for pattern in 0..<patterns.count {
                let d = change(patterns.values + pattern &* k)
                patternChanges[pattern] = d
                patternFactors[pattern] = family.changeFactor(d)
            }
        }
        for a in 0..<rows.count {
            if let patterns {
                let pattern = Int(patterns.ofRow[a])
                (rowChanges[a], rowFactors[a]) = (patternChanges[pattern], patternFactors[pattern])
            } else {
                let d = change(values + a &* k)
                (rowChanges[a], rowFactors[a]) = (d, family.changeFactor(d))
            }
            rowEtas[a] = eta(a, values: values, order: k, at: theta)
        }
        var total = 0.0
        if logisticRows && rows.count >= Self.minimumVectorRows {
            LogisticRows.logistic(rowEtas, into: rowBases, count: rows.count)
            total = LogisticRows.likelihoodChange(family: family, response: response, priorWeights: priorWeights, rows: rows, etas: rowEtas,
                                                  bases: rowBases, changes: rowChanges, factors: rowFactors, scratch: rowTerms)
        } else {
            for (a, row) in rows.enumerated() {
                let i = Int(row)
                total += family.logLikelihoodChange(y: response[i], eta: rowEtas[a], basis: family.changeBasis(eta: rowEtas[a]), change: rowChanges[a],
                                                    changeFactor: rowFactors[a], weight: priorWeights?[i] ?? 1)
            }
        }
        func logPrior(_ theta: UnsafePointer<Double>) -> Double {
            var prior = 0.0
            for c in 0..<k {
                var qc = 0.0
                for d in 0..<k { qc += priorPrecision[c + d * k] * theta[d] }
                prior += -0.5 * theta[c] * qc + priorShift[c] * theta[c]
            }
            return prior
        }
        return total + logPrior(other) - logPrior(theta)
    }

    /// `point` ← the block's penalized weighted least-squares solution with the anchor's weights
    /// and working responses (the IRLS step as if η were η̂ on the block's rows), or 0 when its
    /// matrix is not positive definite. A function of the rest of η and the prior only, as the
    /// proposal must be.
    @inline(__always)
    private func anchoredStart(rows: UnsafeBufferPointer<Int32>, values: UnsafePointer<Double>, order k: Int,
                               priorPrecision: UnsafePointer<Double>, priorShift: UnsafePointer<Double>) {
        let solved = solvePenalizedLeastSquares(rows: rows, values: values, order: k, priorPrecision: priorPrecision,
                                                priorShift: priorShift, into: point) { a, i in
            (anchorWeights[i], anchorWorking[i] - rest[a])
        }
        if !solved { point.update(repeating: 0, count: k) }
    }

    /// One IRLS step at θ (eq. 106-107): `factor` ← the lower factor of P(θ), `mean` ← m(θ);
    /// false when P is not positive definite or m is not finite.
    @inline(__always)
    private func irlsStep(rows: UnsafeBufferPointer<Int32>, values: UnsafePointer<Double>, order k: Int, at theta: UnsafePointer<Double>,
                          priorPrecision: UnsafePointer<Double>, priorShift: UnsafePointer<Double>) -> Bool {
        for (a, row) in rows.enumerated() {
            let i = Int(row)
            let eta = eta(a, values: values, order: k, at: theta)
            let (weight, correction) = family.irlsWeightAndCorrection(y: response[i], eta: eta, priorWeight: priorWeights?[i] ?? 1)
            rowWeights[a] = weight
            rowTargets[a] = eta + correction - rest[a]
        }
        return solvePenalizedLeastSquares(rows: rows, values: values, order: k, priorPrecision: priorPrecision,
                                          priorShift: priorShift, into: mean) { a, _ in (rowWeights[a], rowTargets[a]) }
    }

    /// `factor` ← the lower factor of Q + Σ_a w_a v_a v_aᵀ and `solution` ← its solve against
    /// Qμ₀ + Σ_a w_a v_a t_a, (w_a, t_a) = `weightAndTarget(a, row)`; false when the matrix is not
    /// positive definite or the right-hand side not finite.
    @inline(__always)
    private func solvePenalizedLeastSquares(rows: UnsafeBufferPointer<Int32>, values: UnsafePointer<Double>, order k: Int,
                                            priorPrecision: UnsafePointer<Double>, priorShift: UnsafePointer<Double>,
                                            into solution: UnsafeMutablePointer<Double>,
                                            weightAndTarget: (Int, Int) -> (Double, Double)) -> Bool {
        factor.update(from: priorPrecision, count: k * k)
        solution.update(from: priorShift, count: k)
        if k > 1 && k <= 4 {
            accumulateSmall(rows: rows, values: values, order: k, into: solution, weightAndTarget: weightAndTarget)
        } else {
            for (a, row) in rows.enumerated() {
                let (w, target) = weightAndTarget(a, Int(row))
                let v = values + a &* k
                for c in 0..<k {
                    let wv = w * v[c]
                    solution[c] += wv * target
                    for d in 0...c { factor[c &+ d &* k] += wv * v[d] }
                }
            }
        }
        guard SmallDense.choleskyLowerInPlace(factor, order: k), (0..<k).allSatisfy({ solution[$0].isFinite }) else { return false }
        SmallDense.solveLower(factor, order: k, solution)
        SmallDense.solveLowerTransposed(factor, order: k, solution)
        return true
    }

    /// `factor` += Σ_a w_a v_a v_aᵀ (its lower triangle) and `rightHandSide` += Σ_a w_a v_a t_a, (w_a,
    /// t_a) = `weightAndTarget(a, row)`, for two to four coefficients (β of a few columns, a level
    /// of a small term): the sums in registers, column d of the matrix one vector, each lane taking
    /// the scalar loop's operations in its order (the same bits as adding row by row). Inlined
    /// into each order's copy of the step, with k and `weightAndTarget` known there.
    @inline(__always)
    private func accumulateSmall(rows: UnsafeBufferPointer<Int32>, values: UnsafePointer<Double>, order k: Int,
                                 into rightHandSide: UnsafeMutablePointer<Double>, weightAndTarget: (Int, Int) -> (Double, Double)) {
        let matrix = factor
        var sums = SIMD4<Double>()
        var column0 = SIMD4<Double>(), column1 = SIMD4<Double>(), column2 = SIMD4<Double>(), column3 = SIMD4<Double>()
        for c in 0..<k {
            sums[c] = rightHandSide[c]
            column0[c] = matrix[c]
            if c >= 1 { column1[c] = matrix[c &+ k] }
            if c >= 2 { column2[c] = matrix[c &+ 2 &* k] }
            if c >= 3 { column3[c] = matrix[c &+ 3 &* k] }
        }
        for (a, row) in rows.enumerated() {
            let (w, target) = weightAndTarget(a, Int(row))
            let values = values + a &* k
            var v = SIMD4<Double>()
            for c in 0..<k { v[c] = values[c] }
            let wv = w * v
            sums += wv * target
            column0 += wv * v[0]
            column1 += wv * v[1]
            column2 += wv * v[2]
            column3 += wv * v[3]
        }
        for c in 0..<k {
            rightHandSide[c] = sums[c]
            matrix[c] = column0[c]
            if c >= 1 { matrix[c &+ k] = column1[c] }
            if c >= 2 { matrix[c &+ 2 &* k] = column2[c] }
            if c >= 3 { matrix[c &+ 3 &* k] = column3[c] }
        }
    }

    /// ‖Fᵀ(x − m)‖² = (x − m)ᵀF Fᵀ(x − m) at the current mean, F lower triangular.
    @inline(__always)
    private func squaredDistance(_ x: UnsafePointer<Double>, factor: UnsafePointer<Double>, order k: Int) -> Double {
        var total = 0.0
        for c in 0..<k {
            var s = 0.0
            for r in c..<k { s += factor[r + c * k] * (x[r] - mean[r]) }
            total += s * s
        }
        return total
    }
}

/// A block's rows seen through the distinct values vᵢ they take (β's rows of cbpp take four, a
/// random intercept's one): a try's change vᵢᵀ(θ' − θ) and its `Family.changeFactor` (an expm1)
/// are formed once per pattern instead of once per row.
struct RowPatterns {
    /// Per row of the block, in the order of its rows, the index of its values among `values`.
    let ofRow: UnsafePointer<Int32>
    /// k values per pattern.
    let values: UnsafePointer<Double>
    let count: Int
}

/// The storage of `RowPatterns` for a set of rows, found once.
struct RowPatternTable {
    let ofRow: [Int32]
    let values: [Double]
    let count: Int

    /// Patterns of more than this many are not used: their changes would cost what the rows' do.
    static let maximumCount = 16

    /// The patterns of `rowCount` rows of k values each (`values` row by row), rows equal when
    /// their values have the same bits (so that a pattern's change is each row's, bit for bit);
    /// nil when there are more than `maximumCount`, or not at most half as many as rows.
    init?(values: [Double], order k: Int, rowCount: Int) {
        var ofRow = [Int32](repeating: 0, count: rowCount)
        var patterns: [[UInt64]] = []
        var index: [[UInt64]: Int32] = [:]
        for a in 0..<rowCount {
            let key = (0..<k).map { values[a * k + $0].bitPattern }
            if let found = index[key] {
                ofRow[a] = found
                continue
            }
            guard patterns.count < Self.maximumCount else { return nil }
            index[key] = Int32(patterns.count)
            ofRow[a] = Int32(patterns.count)
            patterns.append(key)
        }
        guard k > 0, 2 * patterns.count <= rowCount else { return nil }
        self.ofRow = ofRow
        self.values = patterns.flatMap { $0.map(Double.init(bitPattern:)) }
        count = patterns.count
    }

    /// `body` with the table's storage as `RowPatterns`, or with nil when there is no table.
    static func withPatterns<Result>(_ table: RowPatternTable?, _ body: (RowPatterns?) -> Result) -> Result {
        guard let table else { return body(nil) }
        return table.ofRow.withUnsafeBufferPointer { ofRow in
            table.values.withUnsafeBufferPointer { values in
                body(RowPatterns(ofRow: ofRow.baseAddress!, values: values.baseAddress!, count: table.count))
            }
        }
    }
}

/// A block's order k for `LaplaceBlockStep.stepBody`: a constant for the small orders, so that
/// each gets a specialized copy of the step, or the order given at run time.
private protocol BlockOrder { static func order(_ runtimeOrder: Int) -> Int }
private enum Order1: BlockOrder { static func order(_: Int) -> Int { 1 } }
private enum Order2: BlockOrder { static func order(_: Int) -> Int { 2 } }
private enum Order3: BlockOrder { static func order(_: Int) -> Int { 3 } }
private enum Order4: BlockOrder { static func order(_: Int) -> Int { 4 } }
private enum AnyOrder: BlockOrder { static func order(_ runtimeOrder: Int) -> Int { runtimeOrder } }
