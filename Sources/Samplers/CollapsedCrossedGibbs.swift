import Foundation
import CNumerics
import Linalg
import ModelSpec

/// A collapsed Gibbs sampler for models whose random-effects terms are all scalar (crossed or
/// nested random intercepts, or single random slopes), after Papaspiliopoulos, Roberts & Zanella
/// (2020), "Scalable inference for crossed random effects models", Biometrika 107(1) (docs/math.md,
/// eq. 56-62). It targets the posterior the blocked `GibbsSampler` targets (same `GibbsPriors`:
/// normal β, half-Cauchy σ and τ_j) and keeps its state in a `GibbsSampler` (`state`), so the
/// output row and `lp__` (`GibbsSampler.logJointDensity`) are the blocked sampler's own.
///
/// The terms are split once: the *small* ones (fewest levels, at most the initializer's
/// `denseLevelBudget` in all) join β in a dense vector w = [β; a_small]; the others are *large*.
/// One sweep, for each large term k in turn (once, with no a_k, when every term is small):
///
/// 1. σ² | everything (eq. 23), from the residual brought up to date by one pass over the rows;
/// 2. τ_k by the centered step (eq. 24) and, when `interweaves`, the interweaving step given the
///    standardized effects (eq. 61);
/// 3. each small term's τ with w and a_k integrated out (eq. 62);
/// 4. the block (w, a_k) from its Gaussian full conditional given the other large terms' effects
///    (eq. 57-59): w from its marginal, whose precision is the Schur complement of the diagonal
///    a_k block, then a_k | w level by level;
/// 5. τ_k and every small term's τ again, as in 2.
///
/// Every step is an exact Gibbs step (for interweaving, a Gibbs step in another parameterization
/// mapped back; step 3 with step 4, a draw from the joint conditional of (τ_l, w, a_k)). Drawing
/// the small terms with every block is what lets a factor with few levels that is confounded
/// with a large one (InstEval's dept:service against instructors nested in departments) move:
/// alternating the two would not. A sweep reads the n
/// rows once per large term, so its cost grows linearly with n and no sparse factorization is
/// made (docs/benchmarks.md, "Large crossed designs"). Not thread-safe: one sampler per chain.
public struct CollapsedCrossedGibbs {
    /// The current state (β, b, σ, τ) in the blocked sampler's layout; its log joint density is
    /// `lp__`. It holds no blocked factor, and its own sweep is never called.
    public private(set) var state: GibbsSampler
    /// When set (the default), every centered τ step is followed by the interweaving step of
    /// eq. 61: the centered step alone mixes slowly when the data leave much of each effect to
    /// its prior (InstEval's students, docs/benchmarks.md). Turn it off to compare.
    public var interweaves = true

    /// Levels, in all, of the terms drawn jointly with β in every block unless the initializer
    /// says otherwise (eq. 57): the dense draw costs O(m³) for m = p + these levels, at 64 well
    /// under one pass over the rows of any design large enough to want this sampler.
    public static let defaultDenseLevelBudget = 64

    /// The rows a sweep reads, built once and shared (copy on write) by every chain's copy.
    private let rows: Rows
    private let slice = SliceSampler()
    /// σ's and each τ_j's half-Cauchy prior with its auxiliary variable.
    private var sigmaPrior: HalfCauchyVariance
    private var tauPriors: [HalfCauchyVariance]
    /// The large terms' residual ỹ − Σ_{j∈L} Z_j a_j, with large term `residualTerm`'s effects at
    /// `residualEffects` (the other large terms' do not move between passes); brought up to the
    /// current state by the next pass (eq. 60).
    private var residual: [Double]
    private var residualTerm: Int?
    private var residualEffects: [Double]
    /// ‖e'‖² and Z_kᵀe' (k = `residualTerm`) at the last pass, from which `residualSumOfSquares`
    /// brings ‖e‖² up to the current state without reading the rows.
    private var passSumOfSquares: Double
    private var passTermCross: [Double]
    /// G_jᵀa_j = Σ_h g_h a_{j,h} per large term at the current state (eq. 60), kept as each a_j is
    /// drawn so Fᵀe' needs no sum over every large term's levels.
    private var denseProducts: [[Double]]

    /// The data of a sweep. F = [X Z_small] (n x m) has, on row i, X's p values and z_{l,i} in
    /// column smallStarts[l] + (row i's level of small term l).
    private struct Rows {
        let n: Int, p: Int
        /// m = p + Σ ℓ_l over the small terms.
        let denseCount: Int
        /// Term indices (design order) of the small terms, with their first column in w, and of
        /// the large terms.
        let smallTerms: [Int], smallStarts: [Int]
        let largeTerms: [Int]

        /// Per term: level codes, the coefficient values z_i (the term's single model-matrix
        /// column) and Σ_{i∈h} z_i² per level.
        let codes: [[Int32]], z: [[Double]], zSquareSums: [[Double]]
        /// FᵀF (column-major m x m, both triangles) and Fᵀỹ.
        let denseGram: [Double], denseResponse: [Double]
        /// Per large term, g_h = Fᵀ Z_k e_h for each level h, compressed: entries
        /// crossStarts[h] ..< crossStarts[h + 1] of crossColumns and crossValues (X's p columns
        /// first, then the small levels that share a row with h).
        let crossStarts: [[Int]], crossColumns: [[Int32]], crossValues: [[Double]]
    }

    /// Throws when a term has more than one coefficient (the sampler's conditionals are for
    /// scalar terms), naming the term as the formula writes it.
    public static func checkSupports(_ design: Design) throws(GibbsError) {
        if let term = design.terms.first(where: { $0.size > 1 }) {
            let coefficients = term.coefficientNames.map { $0 == "(Intercept)" ? "1" : $0 }
            throw .termNotScalar(term: "(\(coefficients.joined(separator: " + ")) | \(term.groupingName))",
                                 coefficients: term.size)
        }
    }

    /// The small terms (design indices, ascending): fewest levels first while their levels add
    /// up to at most `budget`.
    public static func smallTerms(levelCounts: [Int], budget: Int) -> [Int] {
        var total = 0
        var small: [Int] = []
        for j in levelCounts.indices.sorted(by: { (levelCounts[$0], $0) < (levelCounts[$1], $1) }) {
            guard total + levelCounts[j] <= budget else { break }
            total += levelCounts[j]
            small.append(j)
        }
        return small.sorted()
    }

    /// Builds the sampler at the blocked sampler's start (σ = the OLS residual SD, τ_j = σ, β and
    /// b at 0 until the first sweep draws them), the small terms chosen by `smallTerms(levelCounts:
    /// budget:)` (0: none, every term its own block). Throws when a term has more than one coefficient.
    public init(design: Design, priors: GibbsPriors, denseLevelBudget: Int = defaultDenseLevelBudget) throws(GibbsError) {
        try Self.checkSupports(design)
        state = try GibbsSampler(stateOf: design, priors: priors)
        let n = design.observationCount, p = design.fixedCount
        let y = zip(design.response, design.offset).map { $0 - $1 }
        let fixed = design.fixed.matrix
        var x = [Double](repeating: 0, count: n * p)
        for i in 0..<n { for c in 0..<p { x[i * p + c] = fixed[i, c] } }
        let codes = design.terms.map(\.groupCodes)
        let z = design.terms.map { term in (0..<n).map { term.modelRows[$0, 0] } }
        let zSquareSums = design.terms.indices.map { j in
            var squares = [Double](repeating: 0, count: design.terms[j].levelCount)
            for i in 0..<n { squares[Int(codes[j][i])] += z[j][i] * z[j][i] }
            return squares
        }
        let small = Self.smallTerms(levelCounts: design.terms.map(\.levelCount), budget: denseLevelBudget)
        let large = design.terms.indices.filter { !small.contains($0) }
        var smallStarts: [Int] = []
        var m = p
        for j in small {
            smallStarts.append(m)
            m += design.terms[j].levelCount
        }
        // Row i of F as (column, value) pairs: X's p columns, then one per small term.
        func denseRow(_ i: Int) -> [(Int, Double)] {
            (0..<p).map { ($0, x[i * p + $0]) }
                + zip(small, smallStarts).map { j, start in (start + Int(codes[j][i]), z[j][i]) }
        }
        var gram = [Double](repeating: 0, count: m * m), denseResponse = [Double](repeating: 0, count: m)
        for i in 0..<n {
            let entries = denseRow(i)
            for (a, u) in entries {
                denseResponse[a] += u * y[i]
                for (b, v) in entries { gram[a + b * m] += u * v }
            }
        }
        var crossStarts: [[Int]] = [], crossColumns: [[Int32]] = [], crossValues: [[Double]] = []
        for k in large {
            let levels = design.terms[k].levelCount
            var perLevel = [[Int: Double]](repeating: [:], count: levels)
            for i in 0..<n {
                let h = Int(codes[k][i])
                for (column, value) in denseRow(i) { perLevel[h][column, default: 0] += z[k][i] * value }
            }
            var starts = [0], columns: [Int32] = [], values: [Double] = []
            for h in 0..<levels {
                // X's columns always (the intercept's entry is the level's Σ z_i), then the rest in order.
                for c in 0..<p {
                    columns.append(Int32(c))
                    values.append(perLevel[h][c, default: 0])
                }
                for (column, value) in perLevel[h].filter({ $0.key >= p }).sorted(by: { $0.key < $1.key }) {
                    columns.append(Int32(column))
                    values.append(value)
                }
                starts.append(columns.count)
            }
            crossStarts.append(starts)
            crossColumns.append(columns)
            crossValues.append(values)
        }
        rows = Rows(n: n, p: p, denseCount: m, smallTerms: small, smallStarts: smallStarts, largeTerms: large,
                    codes: codes, z: z, zSquareSums: zSquareSums, denseGram: gram, denseResponse: denseResponse,
                    crossStarts: crossStarts, crossColumns: crossColumns, crossValues: crossValues)
        sigmaPrior = HalfCauchyVariance(scale: priors.sigmaScale)
        tauPriors = priors.tauScales.map { HalfCauchyVariance(scale: $0[0]) }
        residual = y
        passSumOfSquares = y.reduce(0) { $0 + $1 * $1 }
        passTermCross = []
        denseProducts = large.map { _ in [Double](repeating: 0, count: m) }
        residualTerm = nil
        residualEffects = []
    }

    /// One sweep (eq. 56): for each large term k in turn (once when there is none), σ | rest, τ_k,
    /// the small terms' τ with (w, a_k) integrated out (eq. 62), the block (w, a_k) | rest
    /// (eq. 57-59), then τ_k and each small term's τ again.
    public mutating func sweep(random: inout RandomStream) throws(GibbsError) {
        let rows = self.rows
        let p = rows.p, m = rows.denseCount
        let priors = state.priors
        var effects = state.randomEffects
        var tau = state.covarianceFactors.map { $0[0] }
        var sigma = state.sigma
        var dense = state.beta
        for j in rows.smallTerms { dense += effects[j] }
        let blocks: [Int?] = rows.largeTerms.isEmpty ? [nil] : rows.largeTerms.indices.map { $0 }
        for block in blocks {
            // e' = ỹ − Σ_{j∈L} Z_j a_j from the pass; the residual is e = e' − Fw (eq. 60).
            let pass = refreshResidual(effects: effects, next: block)
            var denseLinear = denseCross()
            let sumOfSquares = Self.sumOfSquares(rows, largeTerms: pass.sumOfSquares, dense: dense, denseCross: denseLinear)
            sigma = sigmaPrior.update(variance: sigma * sigma, count: rows.n, sumOfSquares: sumOfSquares,
                                      random: random).squareRoot()
            let variance = sigma * sigma

            // Fᵀr and t = Z_kᵀr for r = e' + Z_k a_k, the response less the other large terms (eq. 57).
            var termLinear = pass.termCross
            if let block {
                let k = rows.largeTerms[block]
                let a = effects[k]
                for c in 0..<m { denseLinear[c] += denseProducts[block][c] }
                for h in termLinear.indices { termLinear[h] += rows.zSquareSums[k][h] * a[h] }
                // τ_k given a_k and the other blocks' latest draws; a_k is redrawn next, so the
                // interweaving step's rescaling of a_k need not be made. Z_kᵀe = t − Gw − D̃a_k.
                var fitted = [Double](repeating: 0, count: a.count)
                Self.addLevelProducts(rows, block: block, dense: dense, into: &fitted)
                var cross = 0.0, quadratic = 0.0
                for h in a.indices {
                    let gram = rows.zSquareSums[k][h] * a[h]
                    cross += a[h] * (termLinear[h] - fitted[h] - gram)
                    quadratic += gram * a[h]
                }
                _ = updateScale(term: k, tau: &tau[k], effects: a, cross: cross, quadratic: quadratic,
                                variance: variance, random: random)
            }
            // w's precision P and linear term c given a_{L∖k}, with a_k integrated out (eq. 58);
            // P without the small terms' prior precisions, which eq. 62 varies.
            var precision = rows.denseGram.map { $0 / variance }
            var linear = denseLinear.map { $0 / variance }
            for c in 0..<p where priors.fixedSDs[c].isFinite {
                let prior = 1 / (priors.fixedSDs[c] * priors.fixedSDs[c])
                precision[c * m + c] += prior
                linear[c] += prior * priors.fixedMeans[c]
            }
            var levelPrecision: [Double] = []
            if let block {
                let k = rows.largeTerms[block]
                let tauPrecision = 1 / (tau[k] * tau[k])
                levelPrecision = rows.zSquareSums[k].map { $0 / variance + tauPrecision }
                Self.subtractSchurComplement(rows, block: block, levelPrecision: levelPrecision, termLinear: termLinear,
                                             variance: variance, precision: &precision, linear: &linear)
            }
            for l in rows.smallTerms.indices {
                collapsedSmallScale(small: l, tau: &tau, precision: precision, linear: linear, random: random)
            }
            for (l, j) in rows.smallTerms.enumerated() {
                for c in rows.smallStarts[l] ..< rows.smallStarts[l] + effects[j].count {
                    precision[c * m + c] += 1 / (tau[j] * tau[j])
                }
            }
            // w ~ N(P⁻¹c, P⁻¹) by Cholesky P = L Lᵀ: w = L⁻ᵀ (L⁻¹c + ε).
            let factored = precision.withUnsafeMutableBufferPointer {
                SmallDense.choleskyLowerInPlace($0.baseAddress!, order: m)
            }
            guard factored else {
                let given = block.map { "the effects of every large term but \(rows.largeTerms[$0] + 1)" } ?? "σ and τ"
                throw .coefficientSystemNotPositiveDefinite("the precision of β and the small terms' effects given \(given)")
            }
            var newDense = linear
            precision.withUnsafeBufferPointer { l in
                newDense.withUnsafeMutableBufferPointer { v in
                    SmallDense.solveLower(l.baseAddress!, order: m, v.baseAddress!)
                    for c in 0..<m { v[c] += random.standardNormal() }
                    SmallDense.solveLowerTransposed(l.baseAddress!, order: m, v.baseAddress!)
                }
            }
            dense = newDense
            // Fᵀe at the new state, kept current through the scale steps below (eq. 60).
            var denseCross = denseLinear
            Self.addProduct(rows.denseGram, dense, order: m, scale: -1, into: &denseCross)

            if let block {
                let k = rows.largeTerms[block]
                // a_{k,h} | w ~ N((t_h − g_hᵀw) / (σ² d_h), 1/d_h), independently over h (eq. 59).
                var fitted = [Double](repeating: 0, count: termLinear.count)
                Self.addLevelProducts(rows, block: block, dense: dense, into: &fitted)
                var a = [Double](repeating: 0, count: termLinear.count)
                for h in a.indices {
                    let d = levelPrecision[h]
                    a[h] = (termLinear[h] - fitted[h]) / (variance * d) + random.standardNormal() / d.squareRoot()
                }
                var products = [Double](repeating: 0, count: m)
                Self.addDenseProducts(rows, block: block, effects: a, into: &products)
                for c in 0..<m { denseCross[c] -= products[c] }
                // d = a_kᵀZ_kᵀe with Z_kᵀe = t − Gw − D̃a_k, H = a_kᵀD̃a_k (eq. 60-61).
                var cross = 0.0, quadratic = 0.0
                for h in a.indices {
                    let gram = rows.zSquareSums[k][h] * a[h]
                    cross += a[h] * (termLinear[h] - fitted[h] - gram)
                    quadratic += gram * a[h]
                }
                let ratio = updateScale(term: k, tau: &tau[k], effects: a, cross: cross, quadratic: quadratic,
                                        variance: variance, random: random)
                if ratio != 1 {
                    for c in 0..<m {
                        denseCross[c] -= (ratio - 1) * products[c]
                        products[c] *= ratio
                    }
                    for h in a.indices { a[h] *= ratio }
                }
                effects[k] = a
                denseProducts[block] = products
            }
            for (l, j) in rows.smallTerms.enumerated() {
                let slots = rows.smallStarts[l] ..< rows.smallStarts[l] + effects[j].count
                // d = a_lᵀ(Fᵀe)_l and H = a_lᵀ(FᵀF)_{ll}a_l (eq. 61).
                var cross = 0.0, quadratic = 0.0
                for a in slots {
                    cross += dense[a] * denseCross[a]
                    for b in slots { quadratic += dense[a] * rows.denseGram[a + b * m] * dense[b] }
                }
                let ratio = updateScale(term: j, tau: &tau[j], effects: Array(dense[slots]), cross: cross,
                                        quadratic: quadratic, variance: variance, random: random)
                guard ratio != 1 else { continue }
                var change = [Double](repeating: 0, count: m)
                for a in slots { change[a] = (ratio - 1) * dense[a] }
                Self.addProduct(rows.denseGram, change, order: m, scale: -1, into: &denseCross)
                for a in slots { dense[a] *= ratio }
            }
        }
        state.beta = Array(dense[0..<p])
        for (l, j) in rows.smallTerms.enumerated() {
            effects[j] = Array(dense[rows.smallStarts[l] ..< rows.smallStarts[l] + effects[j].count])
        }
        state.randomEffects = effects
        state.sigma = sigma
        state.covarianceFactors = tau.map { [$0] }
    }

    /// τ_j's centered step (eq. 24) given effects `a`, then, when `interweaves`, its interweaving
    /// step (eq. 61) with d = aᵀZ_jᵀe (`cross`) and H = aᵀZ_jᵀZ_j a (`quadratic`) at the current
    /// state. Returns s = τ'/τ of the interweaving step, by which a is to be scaled (1 without it).
    private mutating func updateScale(term j: Int, tau: inout Double, effects a: [Double], cross: Double, quadratic: Double,
                                      variance: Double, random: RandomStream) -> Double {
        tau = tauPriors[j].update(variance: tau * tau, count: a.count, sumOfSquares: Self.sumOfSquares(a),
                                  random: random).squareRoot()
        guard interweaves else { return 1 }
        let ratio = interweavingRatio(tau: tau, scale: state.priors.tauScales[j][0], cross: cross, quadratic: quadratic,
                                      variance: variance, random: random)
        tau *= ratio
        return ratio
    }

    /// Small term l's τ given the large terms' effects but a_k, σ and the other τ's, with w and a_k
    /// integrated out (eq. 62): one slice step on x = log τ. `precision` and `linear` are eq. 58's
    /// P and c without the small terms' prior precisions; c does not involve them, and neither
    /// does anything else but ½ log|Π| − ½ log|P| + ½ cᵀP⁻¹c.
    private func collapsedSmallScale(small l: Int, tau: inout [Double], precision: [Double], linear: [Double],
                                     random: RandomStream) {
        let m = rows.denseCount
        let j = rows.smallTerms[l]
        let levels = rows.zSquareSums[j].count
        let slots = rows.smallStarts[l] ..< rows.smallStarts[l] + levels
        var base = precision
        for (other, term) in rows.smallTerms.enumerated() where other != l {
            for c in rows.smallStarts[other] ..< rows.smallStarts[other] + rows.zSquareSums[term].count {
                base[c * m + c] += 1 / (tau[term] * tau[term])
            }
        }
        let scale = state.priors.tauScales[j][0]
        withUnsafeTemporaryAllocation(of: Double.self, capacity: m * m + m) { scratch in
        base.withUnsafeBufferPointer { base in
        linear.withUnsafeBufferPointer { linear in
            let factor = scratch.baseAddress!, solved = factor + m * m
            // log p(x) = x − log(1 + τ²/A²) − ℓ x − log|L| + ½‖L⁻¹c‖², P(τ) = L Lᵀ.
            func logDensity(_ x: Double) -> Double {
                let t = exp(x)
                guard t.isFinite, t > 0 else { return -.infinity }
                factor.update(from: base.baseAddress!, count: m * m)
                for c in slots { factor[c * m + c] += 1 / (t * t) }
                guard SmallDense.choleskyLowerInPlace(factor, order: m) else { return -.infinity }
                var logDeterminant = 0.0, quadratic = 0.0
                for c in 0..<m { logDeterminant += log(factor[c * m + c]) }
                solved.update(from: linear.baseAddress!, count: m)
                SmallDense.solveLower(factor, order: m, solved)
                for c in 0..<m { quadratic += solved[c] * solved[c] }
                let ratio = t / scale
                return x - log1p(ratio * ratio) - Double(levels) * x - logDeterminant + 0.5 * quadratic
            }
            let start = log(tau[j])
            let step = slice.step(from: start, logDensityAtStart: logDensity(start), random: random, logDensity: logDensity)
            tau[j] = exp(step.x)
        } } }
    }

    /// The interweaving step of a scalar term (eq. 61): with u = a/τ held, one slice step on
    /// x = log τ' under p(τ' | u, rest) ∝ half-Cauchy(τ'; A) exp(−(2δd + δ²H)/(2σ²)), δ = 1 − τ'/τ,
    /// where d = aᵀZᵀe and H = aᵀZᵀZa at the current state. Returns τ'/τ.
    private func interweavingRatio(tau: Double, scale: Double, cross: Double, quadratic: Double,
                                   variance: Double, random: RandomStream) -> Double {
        let inverseTwiceVariance = 1 / (2 * variance)
        func logDensity(_ x: Double) -> Double {
            let t = exp(x)
            guard t.isFinite, t > 0 else { return -.infinity }
            let ratio = t / scale
            let delta = 1 - t / tau
            return x - log1p(ratio * ratio) - (2 * delta * cross + delta * delta * quadratic) * inverseTwiceVariance
        }
        let start = log(tau)
        let step = slice.step(from: start, logDensityAtStart: logDensity(start), random: random, logDensity: logDensity)
        return exp(step.x) / tau
    }

    /// Brings `residual` (e' = ỹ − Σ_{j∈L} Z_j a_j) up to the current effects in one pass over the
    /// rows (eq. 60), the pending change being the last block's term's, and returns ‖e'‖² and
    /// Z_kᵀe' for large term `next` (empty when nil).
    private mutating func refreshResidual(effects: [[Double]], next: Int?) -> (sumOfSquares: Double, termCross: [Double]) {
        let rows = self.rows
        let pending = residualTerm.map { rows.largeTerms[$0] }
        let change = pending.map { j in zip(effects[j], residualEffects).map { $0 - $1 } } ?? []
        let target = next.map { rows.largeTerms[$0] }
        var termCross = [Double](repeating: 0, count: target.map { effects[$0].count } ?? 0)
        var sumOfSquares = 0.0
        // Unused when there is no pending or next term: any term's arrays stand in, never read.
        let pendingTerm = pending ?? 0, targetTerm = target ?? 0
        residual.withUnsafeMutableBufferPointer { e in
        change.withUnsafeBufferPointer { change in
        rows.codes[pendingTerm].withUnsafeBufferPointer { pendingCodes in
        rows.z[pendingTerm].withUnsafeBufferPointer { pendingZ in
        rows.codes[targetTerm].withUnsafeBufferPointer { targetCodes in
        rows.z[targetTerm].withUnsafeBufferPointer { targetZ in
        termCross.withUnsafeMutableBufferPointer { termCross in
            let n = e.count
            if pending != nil {
                for i in 0..<n { e[i] -= pendingZ[i] * change[Int(pendingCodes[i])] }
            }
            if target != nil {
                // Rows come in runs of one level (data sorted by a factor): summing a run in a
                // register keeps consecutive updates of one entry from waiting on each other.
                var level = Int(targetCodes[0]), run = 0.0
                for i in 0..<n {
                    let code = Int(targetCodes[i])
                    if code != level {
                        termCross[level] += run
                        level = code
                        run = 0
                    }
                    run += targetZ[i] * e[i]
                }
                termCross[level] += run
            }
            // Four partial sums, so the additions do not wait on one another.
            var partial = (0.0, 0.0, 0.0, 0.0)
            var i = 0
            while i + 4 <= n {
                partial.0 += e[i] * e[i]
                partial.1 += e[i + 1] * e[i + 1]
                partial.2 += e[i + 2] * e[i + 2]
                partial.3 += e[i + 3] * e[i + 3]
                i += 4
            }
            while i < n {
                partial.0 += e[i] * e[i]
                i += 1
            }
            sumOfSquares = (partial.0 + partial.1) + (partial.2 + partial.3)
        } } } } } } }
        residualTerm = next
        residualEffects = target.map { effects[$0] } ?? []
        passSumOfSquares = sumOfSquares
        passTermCross = termCross
        return (sumOfSquares, termCross)
    }

    /// ‖ỹ − Xβ − Zb‖² at the current state from the last pass's sums (eq. 60): with Δa the change
    /// of that pass's term since, ‖e'‖² = ‖e'₀‖² − 2Δaᵀ(Z_kᵀe'₀) + Δaᵀ D̃ Δa, then
    /// ‖e‖² = ‖e'‖² − 2wᵀFᵀe' + wᵀFᵀFw with Fᵀe' = Fᵀỹ − Σ_{j∈L} G_jᵀa_j.
    var residualSumOfSquares: Double {
        let rows = self.rows
        let effects = state.randomEffects
        var sumOfSquares = passSumOfSquares
        if let block = residualTerm {
            let k = rows.largeTerms[block]
            for h in effects[k].indices {
                let change = effects[k][h] - residualEffects[h]
                sumOfSquares += change * (rows.zSquareSums[k][h] * change - 2 * passTermCross[h])
            }
        }
        var dense = state.beta
        for j in rows.smallTerms { dense += effects[j] }
        return Self.sumOfSquares(rows, largeTerms: sumOfSquares, dense: dense, denseCross: denseCross())
    }

    /// Fᵀe' = Fᵀỹ − Σ_{j∈L} G_jᵀa_j (eq. 60).
    private func denseCross() -> [Double] {
        var result = rows.denseResponse
        for products in denseProducts { for c in result.indices { result[c] -= products[c] } }
        return result
    }

    /// ‖e‖² = ‖e'‖² − 2wᵀFᵀe' + wᵀFᵀFw for e = e' − Fw, given ‖e'‖² (`largeTerms`) and Fᵀe' (eq. 60).
    private static func sumOfSquares(_ rows: Rows, largeTerms: Double, dense w: [Double], denseCross: [Double]) -> Double {
        let m = rows.denseCount
        var gramTimesDense = [Double](repeating: 0, count: m)
        addProduct(rows.denseGram, w, order: m, scale: 1, into: &gramTimesDense)
        var result = largeTerms
        for c in 0..<m { result += w[c] * (gramTimesDense[c] - 2 * denseCross[c]) }
        return result
    }

    /// y += s · M v for a column-major m x m matrix M.
    private static func addProduct(_ matrix: [Double], _ v: [Double], order m: Int, scale: Double, into y: inout [Double]) {
        for c in 0..<m where v[c] != 0 {
            let factor = scale * v[c]
            for r in 0..<m { y[r] += matrix[r + c * m] * factor }
        }
    }

    /// y_h += g_hᵀw for every level h of large term `block` (the rows of G = Z_kᵀF).
    private static func addLevelProducts(_ rows: Rows, block: Int, dense w: [Double], into y: inout [Double]) {
        rows.crossStarts[block].withUnsafeBufferPointer { starts in
        rows.crossColumns[block].withUnsafeBufferPointer { columns in
        rows.crossValues[block].withUnsafeBufferPointer { values in
        w.withUnsafeBufferPointer { w in
        y.withUnsafeMutableBufferPointer { y in
            for h in 0..<y.count {
                var s = 0.0
                for e in starts[h] ..< starts[h + 1] { s += values[e] * w[Int(columns[e])] }
                y[h] += s
            }
        } } } } }
    }

    /// y += Σ_h g_h a_h = Gᵀa for large term `block`.
    private static func addDenseProducts(_ rows: Rows, block: Int, effects a: [Double], into y: inout [Double]) {
        rows.crossStarts[block].withUnsafeBufferPointer { starts in
        rows.crossColumns[block].withUnsafeBufferPointer { columns in
        rows.crossValues[block].withUnsafeBufferPointer { values in
        a.withUnsafeBufferPointer { a in
        y.withUnsafeMutableBufferPointer { y in
            for h in 0..<a.count {
                let factor = a[h]
                for e in starts[h] ..< starts[h + 1] { y[Int(columns[e])] += values[e] * factor }
            }
        } } } } }
    }

    /// P −= Σ_h g_h g_hᵀ / (σ⁴ d_h) and c −= Σ_h g_h t_h / (σ⁴ d_h): the Schur complement of the
    /// diagonal a_k block (eq. 58), on P's lower triangle only (the upper keeps FᵀF/σ²'s values).
    private static func subtractSchurComplement(_ rows: Rows, block: Int, levelPrecision: [Double], termLinear: [Double],
                                                variance: Double, precision: inout [Double], linear: inout [Double]) {
        let m = rows.denseCount
        let starts = rows.crossStarts[block], columns = rows.crossColumns[block], values = rows.crossValues[block]
        precision.withUnsafeMutableBufferPointer { precision in
        linear.withUnsafeMutableBufferPointer { linear in
        starts.withUnsafeBufferPointer { starts in
        columns.withUnsafeBufferPointer { columns in
        values.withUnsafeBufferPointer { values in
        termLinear.withUnsafeBufferPointer { termLinear in
        levelPrecision.withUnsafeBufferPointer { levelPrecision in
            let precision = precision.baseAddress!
            for h in 0..<levelPrecision.count {
                let weight = 1 / (variance * variance * levelPrecision[h])
                let first = starts[h], end = starts[h + 1]
                // Columns ascend within a level, so f ≥ e stays in the lower triangle, the only
                // one the Cholesky factorizations read.
                for e in first..<end {
                    let a = Int(columns[e]), scaled = values[e] * weight
                    linear[a] -= scaled * termLinear[h]
                    let column = precision + a * m
                    for f in e..<end { column[Int(columns[f])] -= scaled * values[f] }
                }
            }
        } } } } } } }
    }

    private static func sumOfSquares(_ values: [Double]) -> Double { values.reduce(0) { $0 + $1 * $1 } }
}

extension CollapsedCrossedGibbs: GibbsChainSampler {
    public var beta: [Double] { state.beta }
    public var randomEffects: [[Double]] { state.randomEffects }
    public var sigma: Double { state.sigma }
    public var covariances: [[Double]] { state.covariances }
    /// `lp__`: the blocked sampler's log joint density of the state (`GibbsSampler.logJointDensity`)
    /// with SSR from `residualSumOfSquares`, equal to eq. 22's up to rounding, at a fraction of the
    /// cost on designs with a large dense block (InstEval: 1,159 x 1,159).
    public func logJointDensity() -> Double {
        state.logJointDensity(residualSumOfSquares: residualSumOfSquares)
    }
}
