import CVectorMath
import Foundation
import Linalg
import ModelSpec

/// Gibbs for a Poisson (or any non-Gaussian) mixed model with no data augmentation
/// (docs/math.md, eq. 106-110, 118-120). One sweep:
///
/// 1. β (`betaTries` steps), then each level of each term, by Metropolis-Hastings steps whose
///    independence proposal is the block's Laplace approximation at its conditional mode given
///    everything else, mixed with a wide component (`LaplaceBlockStep`);
/// 2. shift moves that leave η unchanged: β_c against the levels of a term whose Z column is a
///    multiple of X's column c on every level (an overrelaxed Gaussian draw,
///    `shiftOverrelaxation`), and an intercept against the intercepts of a term nested in it
///    (Liu & Sabatti 2000; an exact Gaussian draw);
/// 3. each Σ_j given b_j (a scalar term's by ordered overrelaxation over exact draws, eq. 120),
///    then each term's interweaving step with the likelihood evaluated row by row, then the move of
///    eq. 118 for a term with levels whose responses all sit at a bound.
///
/// The Gaussian sampler's joint draw of (β, b) is used only to start: Newton's method through
/// the blocked factor finds the conditional mode. Not thread-safe: one sampler per chain.
public struct IRLSProposalGibbs {
    /// The weighted Gaussian model of the start's Newton steps (its cross-products refilled at
    /// each); it holds the state (β, b, Σ).
    public private(set) var gaussian: GibbsSampler
    /// η = offset + Xβ + Zb at the current state.
    public private(set) var linearPredictor: [Double]
    /// Scratch of the start's Newton steps: IRLS weights and working response, the linear
    /// predictor at a step's point.
    private var weights: [Double]
    private var working: [Double]
    private var proposedPredictor: [Double]
    /// Per term, its rows ordered by level: level h's are `levelRows[j][levelRowOffsets[j][h]..<levelRowOffsets[j][h + 1]]`.
    private let levelRows: [[Int32]]
    private let levelRowOffsets: [[Int]]
    /// 0..<n, the rows of β's block, and X row by row.
    private let allRows: [Int32]
    private let fixedRowValues: [Double]
    /// β's prior precision Q (p x p, diagonal) and Qμ₀, zero where a prior is flat.
    private let betaPriorPrecision: [Double]
    private let betaPriorShift: [Double]
    /// Per term, Z_j's rows in `levelRows[j]`'s order, k_j values each.
    private let levelRowValues: [[Double]]
    /// The distinct rows of X (β's block) and, per term, of Z_j (in `levelRows[j]`'s order), when
    /// they are few (`RowPatterns`).
    private let fixedRowPatterns: RowPatternTable?
    private let levelRowPatterns: [RowPatternTable?]
    /// Per term, whether it is a random intercept: one coefficient whose Z column is 1 on every
    /// row, so that a change of the term moves every row of a level by the same amount.
    private let unitIntercepts: [Bool]
    /// Per term, the levels whose responses all sit at a bound (eq. 118), or nil.
    private let levelsAtBound: [[Bool]?]
    /// A binomial design's successes, failures and log binomial coefficients for `lp__` (three
    /// lgamma calls a row otherwise); nil for Poisson.
    private let likelihoodRows: Design.BinomialRows?
    /// Per term, the interweaving step's slice widths in each log τ_jc (`interweaveMaximumSteps`),
    /// tuned over the warmup (until `endWarmup`).
    private var interweaveWidths: [SliceWidthAdaptation]
    private var tunesInterweaveWidths = true
    /// The Metropolis-Hastings step of one block, with its scratch: a class, so a copy of the
    /// sampler (one per chain, on its own thread) makes its own before its first step.
    private var blockStep: LaplaceBlockStep
    /// The shift moves (eq. 109): β_c + δ with b_{j,h,r} − δ a_h leaves η unchanged when X's
    /// column c is a_h times Z_j's column r on every row of level h (an intercept and a factor
    /// constant within the levels of a random intercept, or a slope and its random slope).
    private let shifts: [Shift]

    /// b_{j,l,r} + δ_l with b_{j',h,r'} − δ_l for every level h of term j' inside level l of term j,
    /// both coefficients intercepts: η is unchanged (eq. 109; BROOD within LOCATION).
    private let nestedShifts: [NestedShift]

    struct NestedShift {
        let coarseTerm: Int, coarseCoefficient: Int
        let fineTerm: Int, fineCoefficient: Int
        /// The level of the coarse term each fine level lies in.
        let parent: [Int32]
    }

    /// β_{c_r} + δ_r with b_{j,h,r} − a_h δ_r for the coefficients r of one term that share the
    /// multipliers a_h, δ drawn jointly: with a correlated term (1 + x | g) the intercept and slope
    /// move together, which one coordinate at a time cannot do where Σ_j is near singular.
    struct Shift {
        let term: Int
        let coefficients: [Int]
        let fixedColumns: [Int]
        /// a_h per level of the term.
        let multipliers: [Double]
    }

    /// The mean number of trials per binomial row from which this sampler beats data
    /// augmentation (docs/decisions.md, "Gibbs samplers for GLMMs"): Pólya-Gamma and Albert-Chib
    /// draw latent variables whose cost and missing information grow with the trials, while the
    /// Laplace approximation of a block sharpens with them. Measured: cbpp (15 trials a row)
    /// 3.2x the Pólya-Gamma sampler's ESS per CPU second; simulated rows of 8 trials about
    /// level; binary VerbAgg 1/18 of it.
    public static let manyTrials = 10.0

    /// Whether a binomial model has rows of enough trials (`manyTrials` on average) that this
    /// sampler outpaces the data-augmentation samplers.
    public static func outpacesAugmentation(_ design: Design) -> Bool {
        guard design.family.kind == .binomial, let trials = design.priorWeights, !trials.isEmpty else { return false }
        return trials.reduce(0, +) / Double(trials.count) >= manyTrials
    }

    /// A sampler at (β, b) at their conditional mode given Σ (Newton's method with step-halving
    /// from β = 0, b = 0), Σ_j diagonal with each τ_jc the root mean square of the mode's b_{j,·,c},
    /// three rounds from Σ_j = I: a proposal from far out in the tails is rarely accepted, and a
    /// start at Σ_j = I beside b of 14 (counts of 10⁷) let the first centred Σ step (whose slice
    /// from so improbable a state is vast) take τ to 10⁵, where levels whose counts are all 0
    /// follow it (docs/calibration.md).
    public init(design: Design, priors: GibbsPriors) throws(GibbsError) {
        guard !design.family.isGaussian else {
            throw .familyNotSupported("the IRLS-proposal sampler is for binomial and Poisson models; a Gaussian model has an exact joint draw (GibbsSampler)")
        }
        var gaussian = try GibbsSampler(design: design, priors: priors)
        gaussian.design.prepareCrossProductRefills()
        self.gaussian = gaussian
        let n = design.observationCount
        linearPredictor = design.offset
        weights = Array(repeating: 0, count: n)
        working = Array(repeating: 0, count: n)
        proposedPredictor = linearPredictor
        var rows: [[Int32]] = []
        var offsets: [[Int]] = []
        for term in design.terms {
            var counts = [Int](repeating: 0, count: term.levelCount + 1)
            for code in term.groupCodes { counts[Int(code) + 1] += 1 }
            for h in 0..<term.levelCount { counts[h + 1] += counts[h] }
            var next = counts
            var order = [Int32](repeating: 0, count: n)
            for (i, code) in term.groupCodes.enumerated() {
                order[next[Int(code)]] = Int32(i)
                next[Int(code)] += 1
            }
            rows.append(order)
            offsets.append(counts)
        }
        levelRows = rows
        levelRowOffsets = offsets
        allRows = (0..<n).map { Int32($0) }
        let p = design.fixedCount
        let x = design.fixed.matrix.storage
        fixedRowValues = (0..<(n * p)).map { x[($0 % p) * n + $0 / p] }
        var betaPrecision = [Double](repeating: 0, count: p * p)
        var betaShift = [Double](repeating: 0, count: p)
        for i in 0..<p where priors.fixedSDs[i].isFinite {
            let inverse = 1 / (priors.fixedSDs[i] * priors.fixedSDs[i])
            betaPrecision[i * (p + 1)] = inverse
            betaShift[i] = priors.fixedMeans[i] * inverse
        }
        (betaPriorPrecision, betaPriorShift) = (betaPrecision, betaShift)
        levelRowValues = zip(design.terms, rows).map { term, order in
            let k = term.size
            return (0..<(n * k)).map { term.modelRows.storage[($0 % k) * n + Int(order[$0 / k])] }
        }
        fixedRowPatterns = RowPatternTable(values: fixedRowValues, order: p, rowCount: n)
        levelRowPatterns = zip(design.terms, levelRowValues).map { RowPatternTable(values: $1, order: $0.size, rowCount: n) }
        // Anchored at the offset until the start is found (the mode search takes no block steps).
        blockStep = Self.blockStep(design: design, anchor: design.offset)
        shifts = Self.shiftMoves(design)
        levelsAtBound = Self.levelsAtBound(design)
        unitIntercepts = design.terms.map { $0.size == 1 && $0.modelRows.storage.allSatisfy { $0 == 1 } }
        likelihoodRows = design.family.kind == .binomial ? design.binomialRows() : nil
        interweaveWidths = design.terms.map {
            SliceWidthAdaptation(widths: [Double](repeating: Self.initialInterweaveWidth, count: $0.size), multiple: Self.interweaveWidthMultiple)
        }
        nestedShifts = Self.nestedShiftMoves(design)
        try moveToConditionalMode()
        for _ in 0..<Self.startingRounds {
            let (before, predictorBefore) = (gaussian, linearPredictor)
            matchScalesToEffects()
            do { try moveToConditionalMode() } catch {
                // Counts of 10¹⁴ can leave the blocked factor indefinite at the new scales:
                // keep the last start that worked.
                (gaussian, linearPredictor) = (before, predictorBefore)
                break
            }
        }
        blockStep = Self.blockStep(design: design, anchor: linearPredictor)
    }

    /// log p(y | η) + log p(u) + log p(β) up to a constant: the log density, in the (u, β)
    /// coordinates of the factor (u = Λ⁻¹b), that the Metropolis-Hastings step targets.
    private func logTarget(eta: [Double], beta: [Double], randomEffects: [[Double]]) -> Double {
        var total = gaussian.design.logLikelihood(eta: eta)
        for (j, term) in gaussian.design.terms.enumerated() {
            total -= 0.5 * GibbsSampler.standardizedSquares(randomEffects[j], factor: gaussian.covarianceFactors[j], order: term.size)
        }
        let priors = gaussian.priors
        for (i, value) in beta.enumerated() where priors.fixedSDs[i].isFinite {
            let d = (value - priors.fixedMeans[i]) / priors.fixedSDs[i]
            total -= 0.5 * d * d
        }
        return total
    }

    /// Refills the cross-products with the IRLS weights and working response at `eta` (eq. 106):
    /// w_i = a_i (dμ/dη)² / V(μ), z_i = η_i − offset_i + (y_i − μ_i) / (dμ/dη).
    private mutating func refill(at eta: [Double]) {
        let design = gaussian.design
        let family = design.family
        for i in eta.indices {
            let (weight, correction) = family.irlsWeightAndCorrection(y: design.response[i], eta: eta[i], priorWeight: design.priorWeights?[i] ?? 1)
            weights[i] = weight
            working[i] = eta[i] - design.offset[i] + correction
        }
        gaussian.design.refillCrossProducts(response: working, weights: weights)
    }

    /// The block steps' scratch and data, anchored at η̂ = `anchor` (the IRLS weights and working
    /// responses there, eq. 106).
    static func blockStep(design: Design, anchor: [Double]) -> LaplaceBlockStep {
        let family = design.family
        var weights = anchor, working = anchor
        for (i, eta) in anchor.enumerated() {
            let (weight, correction) = family.irlsWeightAndCorrection(y: design.response[i], eta: eta, priorWeight: design.priorWeights?[i] ?? 1)
            weights[i] = weight
            working[i] = eta + correction
        }
        return LaplaceBlockStep(family: family, response: design.response, priorWeights: design.priorWeights,
                                anchorWeights: weights, anchorWorking: working, maximumRows: design.observationCount,
                                maximumOrder: max(design.fixedCount, design.terms.map(\.size).max() ?? 0))
    }

    /// Rounds of "τ from the mode's b, then the mode given τ" at the start.
    static let startingRounds = 3

    /// Each Σ_j set to diag(τ_j²), τ_jc the root mean square of b_{j,·,c} (within [10⁻³, 10³]):
    /// a starting point only.
    private mutating func matchScalesToEffects() {
        for (j, term) in gaussian.design.terms.enumerated() {
            let k = term.size
            let b = gaussian.randomEffects[j]
            let factor = gaussian.covarianceFactors[j]
            var logScales = [Double](repeating: 0, count: k)
            var ratios = [Double](repeating: 1, count: k)
            for c in 0..<k {
                var squares = 0.0
                for h in 0..<term.levelCount { squares += b[h * k + c] * b[h * k + c] }
                let tau = min(max((squares / Double(max(term.levelCount, 1))).squareRoot(), 1e-3), 1e3)
                logScales[c] = log(tau)
                ratios[c] = tau / GibbsSampler.rowNorm(factor, row: c, order: k)
            }
            gaussian.rescaleCovariance(term: j, ratios: ratios, logScales: logScales)
        }
    }

    /// Newton's method for the mode of (β, b) given the current Σ, halving a step that lowers
    /// the target; at most 50 iterations.
    private mutating func moveToConditionalMode() throws(GibbsError) {
        let noise = [Double](repeating: 0, count: gaussian.design.crossProducts.layout.firstDimension + gaussian.design.crossProducts.responseIndex)
        var current = logTarget(eta: linearPredictor, beta: gaussian.beta, randomEffects: gaussian.randomEffects)
        for iteration in 0..<50 {
            refill(at: linearPredictor)
            let step: GibbsSampler.Coefficients
            do throws(GibbsError) { step = try gaussian.solveCoefficients(noise: noise) } catch {
                // Weights of 10¹⁴ (huge counts at a step's point) can leave the factor
                // indefinite; past the first step, the point reached is a start as good.
                if iteration == 0 { throw error }
                return
            }
            var fraction = 1.0
            var accepted = false
            while fraction > 1e-18 {
                let beta = zip(gaussian.beta, step.beta).map { $0 + fraction * ($1 - $0) }
                let effects = zip(gaussian.randomEffects, step.randomEffects).map { old, new in zip(old, new).map { $0 + fraction * ($1 - $0) } }
                gaussian.design.linearPredictor(beta: beta, randomEffects: effects, into: &proposedPredictor)
                let value = logTarget(eta: proposedPredictor, beta: beta, randomEffects: effects)
                if value >= current {
                    let change = value - current
                    gaussian.beta = beta
                    gaussian.randomEffects = effects
                    swap(&linearPredictor, &proposedPredictor)
                    current = value
                    accepted = change > 1e-10 * (1 + abs(value))
                    break
                }
                fraction /= 2
            }
            if !accepted { return }
        }
    }

    /// (β, b) | Σ, y: one Metropolis-Hastings step for β, then one for each level of each term
    /// (a term's levels never share a row, so they are independent given the rest), each with
    /// the Laplace proposal of its block (eq. 107-108, `LaplaceBlockStep`). A joint proposal for
    /// all of (β, b) was measured and dropped: its acceptance ratio is a product over every
    /// level, and on grouseticks (588 coordinates) log α was −50 to −80 at every step.
    mutating func updateCoefficients(random: RandomStream) {
        let terms = gaussian.design.terms
        if !isKnownUniquelyReferenced(&blockStep) { blockStep = blockStep.copy() }
        // Everything the steps read, as locals: a closure that touched `self` while `self` is
        // being changed made Swift copy the whole sampler at every sweep.
        let blockStep = blockStep
        let (allRows, fixedRowValues, betaPrecision, betaShift) = (allRows, fixedRowValues, betaPriorPrecision, betaPriorShift)
        let (levelRows, levelRowValues, levelRowOffsets) = (levelRows, levelRowValues, levelRowOffsets)
        let (fixedRowPatterns, levelRowPatterns) = (fixedRowPatterns, levelRowPatterns)
        let precisions = terms.indices.map { precisionMatrix(term: $0) }
        let p = gaussian.design.fixedCount
        var beta = gaussian.beta
        var randomEffects: [[Double]] = []
        swap(&randomEffects, &gaussian.randomEffects)
        defer { swap(&randomEffects, &gaussian.randomEffects) }
        linearPredictor.withUnsafeMutableBufferPointer { eta in
            if p > 0 {
                // β's conditional is informed by every row: its wide component is the Laplace
                // approximation's, twice as wide, not the (usually far wider) prior.
                allRows.withUnsafeBufferPointer { rows in
                RowPatternTable.withPatterns(fixedRowPatterns) { patterns in
                    _ = blockStep.step(rows: rows, values: fixedRowValues, order: p, current: &beta,
                                       priorPrecision: betaPrecision, priorShift: betaShift, priorFactor: nil, patterns: patterns,
                                       linearPredictor: eta.baseAddress!, random: random, tries: Self.betaTries)
                } }
            }
            for (j, term) in terms.enumerated() {
                let k = term.size
                let precision = precisions[j]
                var priorFactor = precision
                let proper = priorFactor.withUnsafeMutableBufferPointer { SmallDense.choleskyLowerInPlace($0.baseAddress!, order: k) }
                let shift = [Double](repeating: 0, count: k)
                let offsets = levelRowOffsets[j]
                levelRows[j].withUnsafeBufferPointer { rows in
                levelRowValues[j].withUnsafeBufferPointer { values in
                randomEffects[j].withUnsafeMutableBufferPointer { effects in
                priorFactor.withUnsafeBufferPointer { priorFactor in
                RowPatternTable.withPatterns(levelRowPatterns[j]) { patterns in
                    for h in 0..<term.levelCount {
                        let levelRows = UnsafeBufferPointer(rebasing: rows[offsets[h]..<offsets[h + 1]])
                        // The term's patterns pay where they are at most half the level's rows.
                        let levelPatterns = patterns.flatMap {
                            2 * $0.count <= levelRows.count ? RowPatterns(ofRow: $0.ofRow + offsets[h], values: $0.values, count: $0.count) : nil
                        }
                        _ = blockStep.step(rows: levelRows, values: values.baseAddress! + offsets[h] * k, order: k,
                                           current: effects.baseAddress! + h * k, priorPrecision: precision,
                                           priorShift: shift, priorFactor: proper ? priorFactor.baseAddress : nil, patterns: levelPatterns,
                                           linearPredictor: eta.baseAddress!, random: random)
                    }
                } } } } }
            }
        }
        gaussian.beta = beta
    }

    /// Every (fixed column c, term j, coefficient r) with X[i, c] = a_h Z_j[i, r] on every row i
    /// of every level h, a_h not all zero (eq. 109); a term's coefficients with the same a_h form
    /// one joint move (each coefficient and each column in one move at most).
    static func shiftMoves(_ design: Design) -> [Shift] {
        let n = design.observationCount
        let x = design.fixed.matrix.storage
        var moves: [Shift] = []
        for (j, term) in design.terms.enumerated() {
            let z = term.modelRows.storage
            var termMoves: [Shift] = []
            for r in 0..<term.size {
                for c in 0..<design.fixedCount {
                    var multipliers = [Double](repeating: .nan, count: term.levelCount)
                    var matches = true
                    for i in 0..<n {
                        let h = Int(term.groupCodes[i])
                        let zi = z[i + r * n], xi = x[i + c * n]
                        if zi == 0 { if xi != 0 { matches = false; break } else { continue } }
                        let a = xi / zi
                        if multipliers[h].isNaN { multipliers[h] = a }
                        else if abs(multipliers[h] - a) > 1e-12 * max(1, abs(a)) { matches = false; break }
                    }
                    guard matches else { continue }
                    let filled = multipliers.map { $0.isNaN ? 0 : $0 }
                    guard filled.contains(where: { $0 != 0 }) else { continue }
                    if let index = termMoves.firstIndex(where: { $0.multipliers == filled && !$0.coefficients.contains(r) && !$0.fixedColumns.contains(c) }) {
                        let joined = termMoves[index]
                        termMoves[index] = Shift(term: j, coefficients: joined.coefficients + [r], fixedColumns: joined.fixedColumns + [c], multipliers: filled)
                    } else {
                        termMoves.append(Shift(term: j, coefficients: [r], fixedColumns: [c], multipliers: filled))
                    }
                }
            }
            moves += termMoves
        }
        return moves
    }

    /// Every pair of intercept coefficients (term j, term j') with each level of j' inside one
    /// level of j (eq. 109).
    static func nestedShiftMoves(_ design: Design) -> [NestedShift] {
        let n = design.observationCount
        func interceptCoefficient(_ term: RandomEffectsTerm) -> Int? {
            (0..<term.size).first { r in (0..<n).allSatisfy { term.modelRows.storage[$0 + r * n] == 1 } }
        }
        var moves: [NestedShift] = []
        for (j, coarse) in design.terms.enumerated() {
            guard let r = interceptCoefficient(coarse) else { continue }
            for (fineIndex, fine) in design.terms.enumerated() where fineIndex != j && fine.levelCount > coarse.levelCount {
                guard let fineCoefficient = interceptCoefficient(fine) else { continue }
                if let parent = fine.parentLevels(in: coarse) {
                    moves.append(NestedShift(coarseTerm: j, coarseCoefficient: r, fineTerm: fineIndex, fineCoefficient: fineCoefficient, parent: parent))
                }
            }
        }
        return moves
    }

    /// Σ_j⁻¹ = L⁻ᵀ L⁻¹ from the term's lower factor.
    func precisionMatrix(term j: Int) -> [Double] {
        let k = gaussian.design.terms[j].size
        let factor = gaussian.covarianceFactors[j]
        return SmallDense.solveLowerTransposed(factor, factor.withUnsafeBufferPointer { SmallDense.inverseOfLower($0.baseAddress!, order: k) }, order: k)
    }

    /// δ_l | rest for each nested shift and coarse level l: Gaussian, the likelihood being free
    /// of it (eq. 109).
    mutating func shiftNestedEffects(random: RandomStream) {
        for move in nestedShifts {
            let (j, r, f, rf) = (move.coarseTerm, move.coarseCoefficient, move.fineTerm, move.fineCoefficient)
            let k = gaussian.design.terms[j].size, kf = gaussian.design.terms[f].size
            let coarsePrecision = precisionMatrix(term: j), finePrecision = precisionMatrix(term: f)
            var coarse = gaussian.randomEffects[j], fine = gaussian.randomEffects[f]
            let levels = gaussian.design.terms[j].levelCount
            var precision = [Double](repeating: coarsePrecision[r + r * k], count: levels)
            var linear = [Double](repeating: 0, count: levels)
            for l in 0..<levels {
                for d in 0..<k { linear[l] -= coarsePrecision[r + d * k] * coarse[l * k + d] }
            }
            for (h, l) in move.parent.enumerated() where l >= 0 {
                precision[Int(l)] += finePrecision[rf + rf * kf]
                for d in 0..<kf { linear[Int(l)] += finePrecision[rf + d * kf] * fine[h * kf + d] }
            }
            let delta = (0..<levels).map { l in linear[l] / precision[l] + random.standardNormal() / precision[l].squareRoot() }
            for l in 0..<levels { coarse[l * k + r] += delta[l] }
            for (h, l) in move.parent.enumerated() where l >= 0 { fine[h * kf + rf] -= delta[Int(l)] }
            gaussian.randomEffects[j] = coarse
            gaussian.randomEffects[f] = fine
        }
    }

    /// Metropolis-Hastings steps of β per sweep, all from one Laplace approximation (eq. 107):
    /// β's conditional is the one block that a single step leaves behind (cbpp: β's ESS 0.60 a
    /// draw with one step, 0.75-0.80 with two, 0.85 with three; docs/benchmarks.md).
    static let betaTries = 2

    /// α of the shift moves' overrelaxed Gaussian draw (eq. 109): δ' = (1 − α) μ + √(1 − α²) ε with
    /// ε ~ N(0, P⁻¹), reversible for the translation's Gaussian conditional N(μ, P⁻¹) about the
    /// current point δ = 0 (Adler 1981; α = 0 is the plain draw). cbpp's intercept, which moves
    /// against the herd effects, had ESS 0.71 a draw with α = 0, 1.02 with −0.5, 1.22 with −0.8.
    static let shiftOverrelaxation = -0.8

    /// δ | rest for each shift move, an overrelaxed Gibbs step on the translation (Liu & Sabatti
    /// 2000): the likelihood does not depend on δ, so δ is Gaussian with precision diag(1/s_c²) +
    /// (Σ_h a_h²) (Σ_j⁻¹)_RR and the matching mean, R the move's coefficients (eq. 109).
    mutating func shiftCoefficients(random: RandomStream) {
        shiftNestedEffects(random: random)
        let priors = gaussian.priors
        for move in shifts {
            let j = move.term
            let k = gaussian.design.terms[j].size
            let m = move.coefficients.count
            let precisionMatrix = precisionMatrix(term: j)
            var precision = [Double](repeating: 0, count: m * m)
            var linear = [Double](repeating: 0, count: m)
            for (a, c) in move.fixedColumns.enumerated() {
                let sd = priors.fixedSDs[c]
                guard sd.isFinite else { continue }
                precision[a * (m + 1)] = 1 / (sd * sd)
                linear[a] = -(gaussian.beta[c] - priors.fixedMeans[c]) / (sd * sd)
            }
            let b = gaussian.randomEffects[j]
            let squares = move.multipliers.reduce(0) { $0 + $1 * $1 }
            for (a, r) in move.coefficients.enumerated() {
                for (e, q) in move.coefficients.enumerated() { precision[a + e * m] += squares * precisionMatrix[r + q * k] }
            }
            for (h, multiplier) in move.multipliers.enumerated() where multiplier != 0 {
                for (a, r) in move.coefficients.enumerated() {
                    var row = 0.0
                    for d in 0..<k { row += precisionMatrix[r + d * k] * b[h * k + d] }
                    linear[a] += multiplier * row
                }
            }
            let positive = precision.withUnsafeMutableBufferPointer { SmallDense.choleskyLowerInPlace($0.baseAddress!, order: m) }
            guard positive else { continue }
            var delta = linear
            var noise = (0..<m).map { _ in random.standardNormal() }
            precision.withUnsafeBufferPointer { l in
                SmallDense.solveLower(l.baseAddress!, order: m, &delta)
                SmallDense.solveLowerTransposed(l.baseAddress!, order: m, &delta)
                SmallDense.solveLowerTransposed(l.baseAddress!, order: m, &noise)
            }
            var updated = b
            let overrelaxedNoise = (1 - Self.shiftOverrelaxation * Self.shiftOverrelaxation).squareRoot()
            for (a, r) in move.coefficients.enumerated() {
                let step = (1 - Self.shiftOverrelaxation) * delta[a] + overrelaxedNoise * noise[a]
                gaussian.beta[move.fixedColumns[a]] += step
                for (h, multiplier) in move.multipliers.enumerated() where multiplier != 0 { updated[h * k + r] -= step * multiplier }
            }
            gaussian.randomEffects[j] = updated
        }
        gaussian.design.linearPredictor(beta: gaussian.beta, randomEffects: gaussian.randomEffects, into: &linearPredictor)
    }

    /// The interweaving step's slice in log τ does not step out (Neal 2003, m = 1): an interval
    /// of the width tuned over the warmup, then shrinkage. cbpp: 2.8 evaluations of the rows a
    /// step against 4.9 with stepping out from width 1, sd_herd's ESS 17k against 20k per
    /// 20,000 draws, still above the period effects' 15-16k (docs/benchmarks.md, session 11).
    static let interweaveMaximumSteps = 1
    /// The width before the first window of the warmup ends, and the tuned width's multiple of
    /// the SD of log τ's draws (cbpp's 0.30 gives about 2).
    static let initialInterweaveWidth = 2.0
    static let interweaveWidthMultiple = 6.0

    /// `Family.changeBasis` of every η, a Poisson or logit link's exponentials four at a time
    /// (`mixmc_exp`, `LogisticRows`: within a few ulp of libm's; the interweaving step only
    /// compares what it makes of them with the slice's level).
    static func changeBases(_ eta: [Double], family: Family) -> [Double] {
        switch (family.kind, family.link) {
        case (.poisson, _):
            var bases = eta
            bases.withUnsafeMutableBufferPointer { mixmc_exp($0.baseAddress!, $0.baseAddress!, $0.count) }
            return bases
        case (.binomial, .logit):
            var bases = eta
            eta.withUnsafeBufferPointer { eta in
                bases.withUnsafeMutableBufferPointer { LogisticRows.logistic(eta.baseAddress!, into: $0.baseAddress!, count: eta.count) }
            }
            return bases
        default:
            return eta.map { family.changeBasis(eta: $0) }
        }
    }

    /// The non-centered half of an interweaving step for term j on the exact likelihood (eq.
    /// 110): with u_h = chol(Σ_j)⁻¹ b_h and the correlation factor held, slice steps on log τ_c
    /// under p(τ | u, β, b₋ⱼ, y); b_j and η follow the new scales.
    mutating func interweaveScales(term j: Int, random: RandomStream) {
        let term = gaussian.design.terms[j]
        let k = term.size
        let n = gaussian.design.observationCount
        let b = gaussian.randomEffects[j]
        // η = base + Σ_c s_c v_c with v_c,i = Z_j[i, c] b_j[level(i), c] and s_c = τ'_c / τ_c.
        var contributions = [Double](repeating: 0, count: n * k)
        var base = linearPredictor
        for c in 0..<k {
            for i in 0..<n {
                let v = term.modelRows.storage[i + c * n] * b[Int(term.groupCodes[i]) * k + c]
                contributions[c * n + i] = v
                base[i] -= v
            }
        }
        let tau = (0..<k).map { GibbsSampler.rowNorm(gaussian.covarianceFactors[j], row: $0, order: k) }
        let scales = gaussian.priors.tauScales[j]
        var x = tau.map { log($0) }
        let family = gaussian.design.family
        let current = linearPredictor
        let bases = Self.changeBases(current, family: family)
        let slice = SliceSampler(width: Self.initialInterweaveWidth, maximumSteps: Self.interweaveMaximumSteps)
        // The likelihood relative to the current η (`Family.logLikelihoodChange`, with η's part
        // formed once for every evaluation), so that the slice level does not round to the
        // current value for large counts (SliceSampler.step).
        // A random intercept's rows all change by (τ'/τ − 1) b_h on level h: the change's part of
        // the likelihood change (`Family.changeFactor`) is formed once per level.
        let levelChanges: UnsafeMutableBufferPointer<Double>? = unitIntercepts[j] ? .allocate(capacity: 2 * term.levelCount) : nil
        defer { levelChanges?.deallocate() }
        // A binomial logit random intercept's rows take their exp and log1p four at a time
        // (`LogisticRows`, a value only compared with the slice's level): each row's change and
        // factor, and the log1p's scratch.
        let logisticScratch: UnsafeMutableBufferPointer<Double>? =
            unitIntercepts[j] && family.kind == .binomial && family.link == .logit ? .allocate(capacity: 3 * n) : nil
        defer { logisticScratch?.deallocate() }
        let response = gaussian.design.response, priorWeights = gaussian.design.priorWeights, codes = term.groupCodes
        let allRows = allRows
        x.withUnsafeMutableBufferPointer { x in
        allRows.withUnsafeBufferPointer { allRows in
        response.withUnsafeBufferPointer { responseValues in
        codes.withUnsafeBufferPointer { codes in
        current.withUnsafeBufferPointer { current in
        bases.withUnsafeBufferPointer { bases in
            slice.sweep(x, widths: interweaveWidths[j].widths, random: random) { x -> Double in
                var value = scales.withUnsafeBufferPointer { GibbsSampler.logScalePrior(x, scales: $0.baseAddress!, order: k) }
                guard value.isFinite else { return -.infinity }
                if let levelChanges {
                    let change = exp(x[0]) / tau[0] - 1
                    // At the current scale every row's change is 0, and so is the likelihood's.
                    if change == 0 { return value }
                    let levels = term.levelCount
                    for h in 0..<levels {
                        let d = 0.0 + change * b[h]
                        levelChanges[h] = d
                        levelChanges[levels + h] = family.changeFactor(d)
                    }
                    if let scratch = logisticScratch?.baseAddress {
                        let (changes, factors) = (scratch, scratch + n)
                        for i in 0..<n {
                            let h = Int(codes[i])
                            (changes[i], factors[i]) = (levelChanges[h], levelChanges[levels + h])
                        }
                        value = LogisticRows.likelihoodChange(family: family, response: response, priorWeights: priorWeights, rows: allRows,
                                                              etas: current.baseAddress!, bases: bases.baseAddress!, changes: changes,
                                                              factors: factors, scratch: scratch + 2 * n, addingTo: value)
                        return value.isNaN ? -.infinity : value
                    }
                    for i in 0..<n {
                        let h = Int(codes[i])
                        value += family.logLikelihoodChange(y: responseValues[i], eta: current[i], basis: bases[i], change: levelChanges[h],
                                                            changeFactor: levelChanges[levels + h], weight: priorWeights?[i] ?? 1)
                    }
                    return value.isNaN ? -.infinity : value
                }
                let changes = (0..<k).map { exp(x[$0]) / tau[$0] - 1 }
                if changes.allSatisfy({ $0 == 0 }) { return value }
                for i in 0..<n {
                    var d = 0.0
                    for c in 0..<k { d += changes[c] * contributions[c * n + i] }
                    value += family.logLikelihoodChange(y: responseValues[i], eta: current[i], basis: bases[i], change: d,
                                                        weight: priorWeights?[i] ?? 1)
                }
                return value.isNaN ? -.infinity : value
            }
        } } } } } }
        let ratios = (0..<k).map { exp(x[$0]) / tau[$0] }
        gaussian.rescale(term: j, ratios: ratios, logScales: x)
        for i in 0..<n {
            var value = base[i]
            for c in 0..<k { value += ratios[c] * contributions[c * n + i] }
            linearPredictor[i] = value
        }
    }
}

extension IRLSProposalGibbs {
    /// The random-walk step of log τ_j in the move of eq. 118.
    static let boundLevelsStepSize = 1.0

    /// Per term, the levels whose responses are all at a bound (every count 0; every binomial
    /// row all failures, or every one all successes), or nil when none is or every one is. Such
    /// a level's likelihood is flat in the direction its prior leaves open, so given Σ_j its b_h
    /// follows the prior wherever τ is, while levels with data pin theirs: neither half of the
    /// interweaving step then moves τ far, and chains drifted to τ of 10⁴ and more (the long SBC
    /// tier's correlated slopes, docs/calibration.md). Eq. 118 moves τ with these levels redrawn.
    static func levelsAtBound(_ design: Design) -> [[Bool]?] {
        design.terms.map { term in
            var low = [Bool](repeating: true, count: term.levelCount)
            var high = low
            for (i, code) in term.groupCodes.enumerated() {
                let y = design.response[i]
                if y != 0 { low[Int(code)] = false }
                if design.family.kind != .binomial || y != 1 { high[Int(code)] = false }
            }
            let atBound = zip(low, high).map { $0 || $1 }
            return atBound.contains(true) && atBound.contains(false) ? atBound : nil
        }
    }

    /// Metropolis-Hastings on (τ_j, b_{j,S}), S the levels at a bound (eq. 118): log τ' = log τ +
    /// `boundLevelsStepSize` ε with the correlation factor W held, and b_h' ~ N(0, Σ_j') for h in
    /// S, drawn from the prior, which cancels against its own density in the ratio:
    ///   log α = log p(τ') − log p(τ) (in log τ) + Σ_{h ∉ S} [log N(b_h; 0, Σ') − log N(b_h; 0, Σ)]
    ///           + Σ_{rows of S} [log p(y_i | η_i') − log p(y_i | η_i)].
    mutating func redrawLevelsAtBound(term j: Int, levels: [Bool], random: RandomStream) {
        let design = gaussian.design
        let term = design.terms[j]
        let k = term.size
        let n = design.observationCount
        let factor = gaussian.covarianceFactors[j]
        let tau = (0..<k).map { GibbsSampler.rowNorm(factor, row: $0, order: k) }
        let x = tau.map { log($0) }
        let proposedX = x.map { $0 + Self.boundLevelsStepSize * random.standardNormal() }
        let ratios = (0..<k).map { exp(proposedX[$0] - x[$0]) }
        guard ratios.allSatisfy({ $0.isFinite && $0 > 0 }) else { return }
        var proposedFactor = factor
        for c in 0..<k { for a in 0...c { proposedFactor[c + a * k] *= ratios[c] } }
        let b = gaussian.randomEffects[j]
        var proposedB = b
        for h in 0..<term.levelCount where levels[h] {
            let noise = (0..<k).map { _ in random.standardNormal() }
            for c in 0..<k {
                var value = 0.0
                for a in 0...c { value += proposedFactor[c + a * k] * noise[a] }
                proposedB[h * k + c] = value
            }
        }
        let scales = gaussian.priors.tauScales[j]
        var logRatio = scales.withUnsafeBufferPointer { s in
            proposedX.withUnsafeBufferPointer { GibbsSampler.logScalePrior($0.baseAddress!, scales: s.baseAddress!, order: k) }
                - x.withUnsafeBufferPointer { GibbsSampler.logScalePrior($0.baseAddress!, scales: s.baseAddress!, order: k) }
        }
        // log N(b; 0, L Lᵀ) = −Σ log L_cc − ½‖L⁻¹b‖² + const, by forward substitution (Σ⁻¹
        // itself overflows where a correlation nears ±1).
        func logPrior(_ effects: ArraySlice<Double>, factor: [Double]) -> Double {
            var whitened = Array(effects)
            whitened.withUnsafeMutableBufferPointer { w in
                factor.withUnsafeBufferPointer { SmallDense.solveLower($0.baseAddress!, order: k, w.baseAddress!) }
            }
            var value = 0.0
            for c in 0..<k { value -= log(factor[c * (k + 1)]) + 0.5 * whitened[c] * whitened[c] }
            return value
        }
        for h in 0..<term.levelCount where !levels[h] {
            let effects = b[(h * k)..<((h + 1) * k)]
            logRatio += logPrior(effects, factor: proposedFactor) - logPrior(effects, factor: factor)
        }
        var proposedPredictor = linearPredictor
        let z = term.modelRows.storage
        for i in 0..<n {
            let h = Int(term.groupCodes[i])
            guard levels[h] else { continue }
            var d = 0.0
            for c in 0..<k { d += z[i + c * n] * (proposedB[h * k + c] - b[h * k + c]) }
            logRatio += design.family.logLikelihoodChange(y: design.response[i], eta: linearPredictor[i], change: d, weight: design.priorWeights?[i] ?? 1)
            proposedPredictor[i] += d
        }
        guard logRatio.isFinite, logRatio >= 0 || log(random.uniform()) < logRatio else { return }
        gaussian.randomEffects[j] = proposedB
        gaussian.rescaleCovariance(term: j, ratios: ratios, logScales: proposedX)
        linearPredictor = proposedPredictor
    }
}

extension IRLSProposalGibbs: GibbsChainSampler {
    public var beta: [Double] { gaussian.beta }
    public var randomEffects: [[Double]] { gaussian.randomEffects }
    public var sigma: Double { gaussian.sigma }
    public var covariances: [[Double]] { gaussian.covariances }

    /// (β, b) by Metropolis-Hastings, each Σ_j | b_j (eq. 119 for a scalar term, 28), each term's interweaving step
    /// on the likelihood (eq. 110), then for a term with levels whose responses all sit at a
    /// bound, τ_j moved with those levels redrawn from their prior (eq. 118).
    public mutating func sweep(random: inout RandomStream) throws(GibbsError) {
        updateCoefficients(random: random)
        shiftCoefficients(random: random)
        gaussian.updateCovariances(terms: 0..<gaussian.design.terms.count, random: random, exactScalarScales: true)
        if gaussian.interweaves {
            for j in gaussian.design.terms.indices { interweaveScales(term: j, random: random) }
        }
        for (j, levels) in levelsAtBound.enumerated() {
            if let levels, !gaussian.holdsVarianceParametersFixed { redrawLevelsAtBound(term: j, levels: levels, random: random) }
        }
        if tunesInterweaveWidths {
            for (j, term) in gaussian.design.terms.enumerated() {
                let factor = gaussian.covarianceFactors[j]
                interweaveWidths[j].observe((0..<term.size).map { log(GibbsSampler.rowNorm(factor, row: $0, order: term.size)) })
            }
        }
    }

    public mutating func endWarmup() { tunesInterweaveWidths = false }

    /// `lp__`: log p(y | β, b) + the log priors, as the other Gibbs samplers' (docs/chain-format.md).
    public func logJointDensity() -> Double {
        let design = gaussian.design
        return gaussian.addingLogPriors(to: likelihoodRows.map { design.logLikelihood(eta: linearPredictor, binomial: $0) }
                                            ?? design.logLikelihood(eta: linearPredictor))
    }
}
