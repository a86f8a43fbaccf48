import Linalg

/// The cross-product blocks of `[Z X y]ᵀ[Z X y]`, in the blocked layout the Cholesky factor uses:
/// the first random-effects term's block-diagonal `ZᵀZ` blocks, its sparse column blocks against
/// everything else, and a dense block for the other terms, X and y (docs/math.md, eq. 3).
///
/// The pattern (layout) is found once; `fill` computes the values in one pass over the rows,
/// optionally weighted (`[Z X y]ᵀ W [Z X y]`: lme4's prior weights, or a GLMM's IRLS weights,
/// which PIRLS refills at every iteration). A Gaussian model fills once: every θ evaluation, Gibbs
/// sweep and log-density call then works from these alone, so their cost does not grow with the
/// number of observations.
public struct CrossProducts: Sendable {
    /// Where each block's nonzeros sit (the same layout the factor uses).
    public private(set) var layout: BlockedLayout
    /// Z₁ᵀZ₁, one k₁ x k₁ block per group of the first term.
    public private(set) var diagonal: [Double]
    /// [Z₂..Z_t X y]ᵀ Z₁ on the layout's pattern.
    public private(set) var offDiagonal: [Double]
    /// [Z₂..Z_t X y]ᵀ[Z₂..Z_t X y], full (both triangles).
    public private(set) var dense: Matrix
    /// Start of each random-effects term's columns in dense coordinates (term 0 has none: -1).
    public private(set) var termStarts: [Int]
    /// Start of X's columns in dense coordinates; y's column is the last one.
    public let fixedStart: Int
    public let fixedCount: Int
    public let observationCount: Int
    /// For each dense row, the random-effects term it belongs to, or -1 for X and y.
    public private(set) var termOfDenseRow: [Int32]

    public var responseIndex: Int { layout.denseDimension - 1 }
    /// For a products value that is refilled (PIRLS) and whose terms are all scalar, each row's
    /// positions in its group's off-diagonal pattern, row-major (rows x touched), found once by
    /// `cacheRowSlots`; nil otherwise (the general fill needs no per-row table).
    private var rowSlots: [Int32]?
    /// With `rowSlots`: each row's dense rows and values other than the response's (other terms,
    /// then X), row-major n x (touched − 1).
    private var touchedRowTable: [Int32] = []
    private var touchedValueTable: [Double] = []
    /// With `rowSlots` and more than one touched row besides y's: each row's nonzero values other
    /// than the response's, compacted (row i's are entries `nonzeroStarts[i] ..< nonzeroStarts[i + 1]`),
    /// with their dense rows and off-diagonal slots. A zero adds ±0 to a sum that is never −0 (it
    /// starts at +0, and an exact cancellation rounds to +0), so leaving the zeros out changes no
    /// bit of the refill.
    private var nonzeroStarts: [Int] = []
    private var nonzeroRows: [Int32] = []
    private var nonzeroValues: [Double] = []
    private var nonzeroSlots: [Int32] = []

    /// Finds the pattern and fills the blocks. `response` is y minus any offset; `weights`, when
    /// given, are the rows' weights w_i in `[Z X y]ᵀ W [Z X y]`.
    public init(terms: [RandomEffectsTerm], fixed: Matrix, response: [Double], weights: [Double]? = nil) {
        precondition(!terms.isEmpty)
        let n = response.count
        let first = terms[0]
        let k1 = first.size
        let p = fixed.columns
        var starts = [-1]
        var position = 0
        var termOfRow: [Int32] = []
        for (j, term) in terms.enumerated().dropFirst() {
            starts.append(position)
            position += term.effectCount
            termOfRow += Array(repeating: Int32(j), count: term.effectCount)
        }
        let fixedStart = position
        let m = position + p + 1
        termOfRow += Array(repeating: -1, count: p + 1)

        // Pattern: for each group of the first term, the groups of every other term it shares an
        // observation with (all k_j rows of each, in increasing order), then every X and y row.
        let byGroup = RowsByGroup(codes: first.groupCodes, groupCount: first.levelCount)
        var offsets = [0]
        var rows: [Int32] = []
        rows.reserveCapacity(first.levelCount * (p + 1))
        // The last group of the first term seen beside each level of each other term.
        var lastSeen = terms.dropFirst().map { [Int32](repeating: -1, count: $0.levelCount) }
        var shared: [Int32] = []
        for g in 0..<first.levelCount {
            let groupRows = byGroup.rows[byGroup.starts[g] ..< byGroup.starts[g + 1]]
            for (j, term) in terms.enumerated().dropFirst() {
                shared.removeAll(keepingCapacity: true)
                term.groupCodes.withUnsafeBufferPointer { codes in
                lastSeen[j - 1].withUnsafeMutableBufferPointer { lastSeen in
                    for i in groupRows {
                        let h = codes[Int(i)]
                        if lastSeen[Int(h)] != Int32(g) {
                            lastSeen[Int(h)] = Int32(g)
                            shared.append(h)
                        }
                    }
                } }
                shared.sort()
                for h in shared { for c in 0..<term.size { rows.append(Int32(starts[j] + Int(h) * term.size + c)) } }
            }
            for r in fixedStart..<m { rows.append(Int32(r)) }
            offsets.append(rows.count)
        }
        layout = BlockedLayout(groupCount: first.levelCount, groupSize: k1, denseDimension: m, patternOffsets: offsets, patternRows: rows)
        diagonal = Array(repeating: 0.0, count: first.levelCount * k1 * k1)
        offDiagonal = Array(repeating: 0.0, count: rows.count * k1)
        dense = Matrix(rows: m, columns: m)
        termStarts = starts
        self.fixedStart = fixedStart
        fixedCount = p
        observationCount = n
        termOfDenseRow = termOfRow
        fillRows(terms: terms, fixed: fixed, response: response, weights: weights)
    }

    /// Recomputes every block's values on the same pattern in one pass over the rows: y's column
    /// becomes `response` and each row is weighted by `weights` (unweighted when nil).
    public mutating func fill(terms: [RandomEffectsTerm], fixed: Matrix, response: [Double], weights: [Double]?) {
        if let slots = rowSlots, let weights {
            refillScalarTerms(terms: terms, response: response, weights: weights, slots: slots)
            return
        }
        fillRows(terms: terms, fixed: fixed, response: response, weights: weights)
    }

    /// `fill` for a weighted refill (PIRLS) when every term is scalar: the same sums, with each
    /// row's touched dense rows, their values (all but the response, which changes) and its
    /// off-diagonal slots read from the tables `cacheRowSlots` built; the hot loop of a GLMM fit.
    private mutating func refillScalarTerms(terms: [RandomEffectsTerm], response: [Double], weights: [Double], slots: [Int32]) {
        let n = observationCount
        let m = layout.denseDimension
        let touched = layout.denseDimension > 0 ? slots.count / max(n, 1) : 0
        let fixedTouched = touched - 1
        let responseRow = m - 1
        let firstCodes = terms[0].groupCodes, firstRows = terms[0].modelRows.storage
        let offsets = layout.patternOffsets
        let rowTable = touchedRowTable, valueTable = touchedValueTable
        let starts = nonzeroStarts, nonzeroRows = nonzeroRows, nonzeroValues = nonzeroValues, nonzeroSlots = nonzeroSlots
        diagonal.withUnsafeMutableBufferPointer { diagonal in
        offDiagonal.withUnsafeMutableBufferPointer { offDiagonal in
        dense.storage.withUnsafeMutableBufferPointer { dense in
            diagonal.update(repeating: 0)
            offDiagonal.update(repeating: 0)
            dense.update(repeating: 0)
            slots.withUnsafeBufferPointer { slots in
            weights.withUnsafeBufferPointer { weights in
            response.withUnsafeBufferPointer { response in
                if fixedTouched == 1 {
                    rowTable.withUnsafeBufferPointer { touchedRows in
                    valueTable.withUnsafeBufferPointer { touchedValues in
                        Self.refillOneOtherScalarTerm(n: n, m: m, firstCodes: firstCodes, firstRows: firstRows, offsets: offsets,
                                                      touchedRows: touchedRows, touchedValues: touchedValues, slots: slots,
                                                      weights: weights, response: response,
                                                      diagonal: diagonal, offDiagonal: offDiagonal, dense: dense)
                    } }
                    return
                }
                starts.withUnsafeBufferPointer { starts in
                nonzeroRows.withUnsafeBufferPointer { rows in
                nonzeroValues.withUnsafeBufferPointer { values in
                nonzeroSlots.withUnsafeBufferPointer { nonzeroSlots in
                firstCodes.withUnsafeBufferPointer { firstCodes in
                firstRows.withUnsafeBufferPointer { firstRows in
                offsets.withUnsafeBufferPointer { offsets in
                    // Index arithmetic wraps (&+, &*): every index is below the blocks' sizes.
                    let responseDiagonal = responseRow &+ responseRow &* m
                    for i in 0..<n {
                        let g = Int(firstCodes[i])
                        let w = weights[i]
                        let z = firstRows[i]
                        let wz = w * z
                        diagonal[g] += wz * z
                        let start = offsets[g]
                        let y = response[i]
                        let wy = w * y
                        let low = starts[i], high = starts[i &+ 1]
                        // The nonzero rows that do not change (other terms, X), then y's.
                        for a in low..<high {
                            let va = values[a]
                            offDiagonal[start &+ Int(nonzeroSlots[a])] += va * wz
                            let wa = va * w
                            let rowA = Int(rows[a])
                            for b in low...a { dense[rowA &+ Int(rows[b]) &* m] += wa * values[b] }
                        }
                        offDiagonal[start &+ Int(slots[i &* touched &+ fixedTouched])] += y * wz
                        for b in low..<high { dense[responseRow &+ Int(rows[b]) &* m] += wy * values[b] }
                        dense[responseDiagonal] += wy * y
                    }
                } } } } } } }
            } } }
        } } }
        for c in 0..<m { for r in (c + 1)..<max(m, c + 1) { dense[c, r] = dense[r, c] } }
    }

    /// `refillScalarTerms` for two scalar terms and no X (PIRLS with β fixed on a crossed
    /// design): each row touches one dense row besides y's, so the loops over touched rows go and
    /// y'y is summed in a register. The same additions in the same order: the same bits.
    private static func refillOneOtherScalarTerm(n: Int, m: Int, firstCodes: [Int32], firstRows: [Double], offsets: [Int],
                                          touchedRows: UnsafeBufferPointer<Int32>, touchedValues: UnsafeBufferPointer<Double>,
                                          slots: UnsafeBufferPointer<Int32>, weights: UnsafeBufferPointer<Double>,
                                          response: UnsafeBufferPointer<Double>, diagonal: UnsafeMutableBufferPointer<Double>,
                                          offDiagonal: UnsafeMutableBufferPointer<Double>, dense: UnsafeMutableBufferPointer<Double>) {
        let responseRow = m - 1
        var responseSquares = 0.0
        for i in 0..<n {
            let g = Int(firstCodes[i])
            let w = weights[i]
            let z = firstRows[i]
            let wz = w * z
            diagonal[g] += wz * z
            let start = offsets[g]
            let y = response[i]
            let wy = w * y
            let value = touchedValues[i]
            let row = Int(touchedRows[i])
            offDiagonal[start + Int(slots[2 * i])] += value * wz
            if value != 0 { dense[row + row * m] += value * w * value }
            offDiagonal[start + Int(slots[2 * i + 1])] += y * wz
            dense[responseRow + row * m] += wy * value
            responseSquares += wy * y
        }
        dense[responseRow + responseRow * m] += responseSquares
    }

    /// The general fill: any term sizes, weighted or not. Two passes, each adding to every entry
    /// in increasing row order (as one pass in file order would, so the sums keep their bits):
    /// the first term's blocks (`diagonal`, `offDiagonal`) group by group, and `dense` in file
    /// order. For the first pass, each chunk of rows is read in file order and its rows' values
    /// are written out sorted by group (a stable counting sort); each group's rows are then added
    /// with the group's block and the place of each dense row in its pattern at hand. Reading the
    /// rows in group order directly instead would fetch every row's values from a random place in
    /// memory, which took most of the fill's time on large files.
    private mutating func fillRows(terms: [RandomEffectsTerm], fixed: Matrix, response: [Double], weights: [Double]?) {
        precondition(response.count == observationCount && fixed.columns == fixedCount && weights.map { $0.count == observationCount } ?? true)
        let n = observationCount
        let first = terms[0]
        let k1 = first.size
        let groupCount = first.levelCount
        let p = fixedCount
        let m = layout.denseDimension
        let fixedStart = fixedStart
        let offsets = layout.patternOffsets
        for i in diagonal.indices { diagonal[i] = 0 }
        for i in offDiagonal.indices { offDiagonal[i] = 0 }
        for i in dense.storage.indices { dense.storage[i] = 0 }
        // Per observation: the dense rows it touches and their values. The terms' codes and model
        // rows are read through buffers taken once, not through the term values (a copy per row).
        let others = terms.dropFirst()
        let touched = others.reduce(0) { $0 + $1.size } + p + 1
        let otherCodes = others.map(\.groupCodes)
        let otherRows = others.map(\.modelRows.storage)
        let otherSizes = others.map(\.size)
        let otherStarts = Array(termStarts.dropFirst())
        let firstCodes = first.groupCodes
        let firstRows = first.modelRows.storage
        let fixedValues = fixed.storage
        func loadTouched(row i: Int, into touchedRows: UnsafeMutablePointer<Int>, _ touchedValues: UnsafeMutablePointer<Double>) {
            var t = 0
            for j in otherCodes.indices {
                let size = otherSizes[j]
                let base = otherStarts[j] + Int(otherCodes[j][i]) * size
                for c in 0..<size {
                    touchedRows[t] = base + c
                    touchedValues[t] = otherRows[j][i + c * n]
                    t += 1
                }
            }
            for c in 0..<p {
                touchedRows[t] = fixedStart + c
                touchedValues[t] = fixedValues[i + c * n]
                t += 1
            }
            touchedRows[t] = m - 1
            touchedValues[t] = response[i]
        }

        // A chunk's rows sorted by group: touched rows and values, z₁ and the weight of each.
        let chunkSize = max(min(n, 1 << 18), 1)
        let sortedRows = UnsafeMutableBufferPointer<Int>.allocate(capacity: chunkSize * touched)
        let sortedValues = UnsafeMutableBufferPointer<Double>.allocate(capacity: chunkSize * touched)
        let sortedFirst = UnsafeMutableBufferPointer<Double>.allocate(capacity: chunkSize * k1)
        let sortedWeights = UnsafeMutableBufferPointer<Double>.allocate(capacity: weights == nil ? 0 : chunkSize)
        let groupStarts = UnsafeMutableBufferPointer<Int>.allocate(capacity: groupCount + 1)
        let groupNext = UnsafeMutableBufferPointer<Int>.allocate(capacity: groupCount)
        let z1 = UnsafeMutableBufferPointer<Double>.allocate(capacity: k1)
        // The place of each dense row in the current group's pattern.
        let place = UnsafeMutableBufferPointer<Int>.allocate(capacity: m)
        defer {
            for buffer in [sortedRows, groupStarts, groupNext, place] { buffer.deallocate() }
            for buffer in [sortedValues, sortedFirst, sortedWeights, z1] { buffer.deallocate() }
        }
        diagonal.withUnsafeMutableBufferPointer { diagonal in
        offDiagonal.withUnsafeMutableBufferPointer { offDiagonal in
        layout.patternRows.withUnsafeBufferPointer { rows in
        for chunkStart in stride(from: 0, to: n, by: chunkSize) {
            let chunkEnd = min(chunkStart + chunkSize, n)
            groupStarts.update(repeating: 0)
            for i in chunkStart..<chunkEnd { groupStarts[Int(firstCodes[i]) + 1] += 1 }
            for g in 0..<groupCount { groupStarts[g + 1] += groupStarts[g] }
            _ = groupNext.update(fromContentsOf: groupStarts[..<groupCount])
            for i in chunkStart..<chunkEnd {
                let g = Int(firstCodes[i])
                let slot = groupNext[g]
                groupNext[g] += 1
                loadTouched(row: i, into: sortedRows.baseAddress! + slot * touched, sortedValues.baseAddress! + slot * touched)
                for c in 0..<k1 { sortedFirst[slot * k1 + c] = firstRows[i + c * n] }
                if let weights { sortedWeights[slot] = weights[i] }
            }
            for g in 0..<groupCount where groupStarts[g] < groupStarts[g + 1] {
                let start = offsets[g], count = offsets[g + 1] - start
                for index in 0..<count { place[Int(rows[start + index])] = index }
                for slot in groupStarts[g] ..< groupStarts[g + 1] {
                    for c in 0..<k1 { z1[c] = sortedFirst[slot * k1 + c] }
                    if weights != nil {
                        // w z₁ on the left of every product: each block entry gets w_i once.
                        let w = sortedWeights[slot]
                        for c in 0..<k1 { for r in 0..<k1 { diagonal[g * k1 * k1 + c * k1 + r] += w * z1[r] * z1[c] } }
                        for c in 0..<k1 { z1[c] *= w }
                    } else {
                        for c in 0..<k1 { for r in 0..<k1 { diagonal[g * k1 * k1 + c * k1 + r] += z1[r] * z1[c] } }
                    }
                    for a in 0..<touched {
                        let index = place[sortedRows[slot * touched + a]]
                        let value = sortedValues[slot * touched + a]
                        for c in 0..<k1 { offDiagonal[start * k1 + c * count + index] += value * z1[c] }
                    }
                }
            }
        }
        } } }

        let touchedRows = sortedRows.baseAddress!, touchedValues = sortedValues.baseAddress!
        dense.storage.withUnsafeMutableBufferPointer { dense in
        for i in 0..<n {
            loadTouched(row: i, into: touchedRows, touchedValues)
            let w = weights?[i]
            for a in 0..<touched {
                var va = touchedValues[a]
                if va == 0 { continue }
                if let w { va *= w }
                let rowA = touchedRows[a]
                for b in 0...a { dense[rowA + touchedRows[b] * m] += va * touchedValues[b] }
            }
        }
        }
        // Rows within an observation are increasing, so the loop above filled the lower triangle.
        for c in 0..<m { for r in (c + 1)..<max(m, c + 1) { dense[c, r] = dense[r, c] } }
    }

    /// When every term is scalar, finds and keeps every row's off-diagonal positions, dense rows
    /// and values, so that later weighted fills read them from tables (a GLMM's PIRLS refills at
    /// every iteration). Other designs refill through the general fill, which needs no table.
    public mutating func cacheRowSlots(terms: [RandomEffectsTerm], fixed: Matrix) {
        guard terms.allSatisfy({ $0.size == 1 }) else { return }
        let others = terms.dropFirst()
        let touched = others.reduce(0) { $0 + $1.size } + fixedCount + 1
        let n = observationCount
        var slots = [Int32](repeating: 0, count: n * touched)
        let firstCodes = terms[0].groupCodes
        layout.patternRows.withUnsafeBufferPointer { rows in
            for i in 0..<n {
                let g = Int(firstCodes[i])
                let start = layout.patternOffsets[g], count = layout.patternOffsets[g + 1] - start
                var t = 0
                for (j, term) in zip(1..., others) {
                    let base = termStarts[j] + Int(term.groupCodes[i]) * term.size
                    for c in 0..<term.size {
                        slots[i * touched + t] = Int32(Self.search(rows, from: start, count: count, for: Int32(base + c)))
                        t += 1
                    }
                }
                for row in fixedStart..<layout.denseDimension {
                    slots[i * touched + t] = Int32(Self.search(rows, from: start, count: count, for: Int32(row)))
                    t += 1
                }
            }
        }
        rowSlots = slots
        let fixedTouched = touched - 1
        if fixedTouched != 1 {
            cacheNonzeros(terms: terms, fixed: fixed, slots: slots, touched: touched)
            return
        }
        var rowTable = [Int32](repeating: 0, count: n * fixedTouched)
        var valueTable = [Double](repeating: 0, count: n * fixedTouched)
        for (j, term) in zip(1..., others) {
            let codes = term.groupCodes, rows = term.modelRows.storage
            for i in 0..<n {
                rowTable[i * fixedTouched + j - 1] = Int32(termStarts[j]) + codes[i]
                valueTable[i * fixedTouched + j - 1] = rows[i]
            }
        }
        for c in 0..<fixedCount {
            for i in 0..<n {
                rowTable[i * fixedTouched + others.count + c] = Int32(fixedStart + c)
                valueTable[i * fixedTouched + others.count + c] = fixed.storage[i + c * n]
            }
        }
        touchedRowTable = rowTable
        touchedValueTable = valueTable
    }

    /// `cacheRowSlots` for more than one touched row besides y's: each row's nonzero values of the
    /// other terms and X, in the order of its touched rows, with their dense rows and slots.
    private mutating func cacheNonzeros(terms: [RandomEffectsTerm], fixed: Matrix, slots: [Int32], touched: Int) {
        let n = observationCount
        let others = Array(terms.dropFirst())
        var starts = [0]
        starts.reserveCapacity(n + 1)
        var rows: [Int32] = [], values: [Double] = [], keptSlots: [Int32] = []
        for i in 0..<n {
            var t = 0
            func keep(row: Int, value: Double) {
                if value != 0 {
                    rows.append(Int32(row))
                    values.append(value)
                    keptSlots.append(slots[i * touched + t])
                }
                t += 1
            }
            for (j, term) in zip(1..., others) {
                keep(row: termStarts[j] + Int(term.groupCodes[i]), value: term.modelRows.storage[i])
            }
            for c in 0..<fixedCount { keep(row: fixedStart + c, value: fixed.storage[i + c * n]) }
            starts.append(rows.count)
        }
        nonzeroStarts = starts
        nonzeroRows = rows
        nonzeroValues = values
        nonzeroSlots = keptSlots
        touchedRowTable = []
        touchedValueTable = []
    }

    /// Position (relative to `from`) of `value` in the sorted slice; the pattern holds it by construction.
    @inline(__always)
    private static func search(_ rows: UnsafeBufferPointer<Int32>, from start: Int, count: Int, for value: Int32) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if rows[start + mid] < value { low = mid + 1 } else { high = mid }
        }
        precondition(low < count && rows[start + low] == value, "row missing from pattern")
        return low
    }
}

extension CrossProducts {
    /// A copy whose arrays are its own (`Array.unsharedCopy`).
    public func unsharedCopy() -> CrossProducts {
        var copy = self
        copy.layout = layout.unsharedCopy()
        copy.diagonal = diagonal.unsharedCopy()
        copy.offDiagonal = offDiagonal.unsharedCopy()
        copy.dense = dense.unsharedCopy()
        copy.termStarts = termStarts.unsharedCopy()
        copy.termOfDenseRow = termOfDenseRow.unsharedCopy()
        copy.rowSlots = rowSlots?.unsharedCopy()
        copy.touchedRowTable = touchedRowTable.unsharedCopy()
        copy.touchedValueTable = touchedValueTable.unsharedCopy()
        copy.nonzeroStarts = nonzeroStarts.unsharedCopy()
        copy.nonzeroRows = nonzeroRows.unsharedCopy()
        copy.nonzeroValues = nonzeroValues.unsharedCopy()
        copy.nonzeroSlots = nonzeroSlots.unsharedCopy()
        return copy
    }
}
