import Linalg

/// A linear mixed model's design: the rows used, y, offset, X, and the random-effects terms in
/// the order lme4 and MixedModels.jl use (decreasing number of levels), with the cross-product
/// blocks built once.
public struct Design: Sendable {
    public let formula: Formula
    public let dataSource: String
    public let responseName: String
    /// The response distribution and link (Gaussian for a linear mixed model).
    public let family: Family
    /// y of the rows used: for a binomial model the proportion of successes in `priorWeights` trials.
    public let response: [Double]
    /// Per-row prior weights (lme4's `weights`; a binomial model's trials), nil when all are 1.
    public let priorWeights: [Double]?
    /// The column given as `--weights`, if any.
    public let weightsName: String?
    /// Σ offset(o) terms of the rows used (zeros without any).
    public let offset: [Double]
    public let fixed: ModelMatrix
    public let terms: [RandomEffectsTerm]
    /// Rows dropped because a column the model uses is missing there (lme4's `na.omit`).
    public let rowsDropped: Int
    /// Columns of X dropped because X was rank deficient (lme4's `check.rankX`; `DesignChecks`).
    public var droppedFixedColumns: [String] = []
    /// [Z X ỹ]ᵀ[Z X ỹ] (prior-weighted for a Gaussian model); a data-augmentation sampler
    /// refills them at every sweep (`refillCrossProducts`).
    public private(set) var crossProducts: CrossProducts

    public var observationCount: Int { response.count }
    public var fixedCount: Int { fixed.columnNames.count }
    public var thetaCount: Int { terms.reduce(0) { $0 + $1.thetaCount } }
    /// Where each term's slice of θ starts.
    public var thetaOffsets: [Int] {
        var offsets: [Int] = []
        var position = 0
        for term in terms { offsets.append(position); position += term.thetaCount }
        return offsets
    }
    public var thetaNames: [String] { terms.flatMap(\.thetaNames) }
    public var thetaLowerBounds: [Double] { terms.flatMap(\.thetaLowerBounds) }
    public var thetaStart: [Double] { terms.flatMap(\.thetaStart) }

    /// Each term's relative covariance factor T_j for a θ vector (lme4 order).
    public func relativeCovarianceFactors(theta: [Double]) -> [[Double]] {
        precondition(theta.count == thetaCount)
        var factors: [[Double]] = []
        var position = 0
        for term in terms {
            factors.append(term.relativeCovarianceFactor(theta: theta[position ..< position + term.thetaCount]))
            position += term.thetaCount
        }
        return factors
    }

    /// Variables a formula reads, with the ones used as grouping factors (always categorical).
    public static func variables(of formula: Formula, weights: String? = nil) -> (all: [String], grouping: Set<String>) {
        var names: [String] = []
        func add(_ name: String) { if !names.contains(name) { names.append(name) } }
        formula.responseTerm?.columns.forEach(add)
        if let weights { add(weights) }
        formula.fixedTerms.flatMap(\.variables).flatMap(formula.columns(of:)).forEach(add)
        formula.offsets.flatMap(\.columns).forEach(add)
        var grouping = Set<String>()
        for term in formula.randomTerms {
            term.effects.flatMap(\.variables).flatMap(formula.columns(of:)).forEach(add)
            term.grouping.forEach { add($0); grouping.insert($0) }
        }
        return (names, grouping)
    }

    /// Builds the design from data read with the formula's grouping variables declared categorical.
    /// `weights` names a column of prior weights (lme4's `weights =`).
    /// `contrasts` chooses how factors are coded (treatment contrasts by default).
    public static func build(data fullData: DataTable, formula: Formula, family: Family = .gaussian, weights weightsName: String? = nil,
                             contrasts: Contrasts = Contrasts()) throws -> Design {
        // `.` stands for the data's columns, known only now.
        let formula = formula.hasUnexpandedDot ? try Formula.parse(formula.source, columns: fullData.columnNames) : formula
        let (variables, grouping) = variables(of: formula, weights: weightsName)
        for name in variables where fullData.column(name) == nil {
            throw FormulaError(formula: formula.source, position: formula.position(of: name) ?? 0,
                               message: "unknown column '\(name)'; columns in \(fullData.source) are: \(fullData.columnNames.joined(separator: ", "))")
        }
        for name in grouping {
            if case .numeric = fullData.column(name) {
                throw FormulaError(formula: formula.source, position: formula.position(of: name) ?? 0,
                                   message: "grouping factor '\(name)' must be read as categorical; read the data with it in `categorical`")
            }
        }
        try fullData.checkCells(in: variables)
        try DesignChecks.checkResponseNotOnRight(formula)
        guard let responseName = formula.response, let responseTerm = formula.responseTerm else {
            throw FormulaError(formula: formula.source, position: 0, message: "the formula has no response; write it as `y ~ ...`")
        }
        guard !formula.randomTerms.isEmpty else {
            throw FormulaError(formula: formula.source, position: formula.source.count,
                               message: "the formula has no random-effects term such as (1 | group); a mixed model needs at least one")
        }
        let (kept, dropped) = fullData.completeRows(in: variables)
        guard !kept.isEmpty else {
            if fullData.rowCount == 0 {
                throw DataError(file: fullData.source, message: "the file has a header row but no data rows",
                                fix: "add one row per observation below the header")
            }
            for name in variables {
                guard let column = fullData.column(name), (0..<fullData.rowCount).allSatisfy(column.isMissing) else { continue }
                throw DataError(file: fullData.source, column: name, message: "column \(name) has no values: every cell is NA or empty",
                                fix: "fill in column \(name), or leave it out of the formula")
            }
            throw DesignError.noCompleteRows(source: fullData.source, columns: variables)
        }
        let data = dropped > 0 ? fullData.subset(rows: kept) : fullData

        let (response, priorWeights) = try ResponseValues.evaluate(responseTerm, family: family, weights: weightsName, data: data, formula: formula)
        var offset = Array(repeating: 0.0, count: data.rowCount)
        for expression in formula.offsets {
            let values = try expression.finiteValues(on: data, label: "offset(\(expression))")
            for i in 0..<offset.count { offset[i] += values[i] }
        }
        try contrasts.check(against: formula, data: data)
        let fullFixed = try ModelMatrix.build(intercept: formula.fixedIntercept, terms: formula.fixedTerms, data: data, formula: formula, contrasts: contrasts)

        var terms: [RandomEffectsTerm] = []
        for term in formula.randomTerms {
            let model = try ModelMatrix.build(intercept: term.intercept, terms: term.effects, data: data, formula: formula, contrasts: contrasts.ofFactors)
            guard !model.columnNames.isEmpty else {
                throw FormulaError(formula: formula.source, position: formula.position(of: term.grouping[0]) ?? 0,
                                   message: "random-effects term for '\(term.groupingName)' has no coefficients; write (1 | \(term.groupingName)) for an intercept")
            }
            let (levels, codes) = groupingFactor(term.grouping, data: data)
            try DesignChecks.checkLevelCount(grouping: term.grouping, levels: levels, formula: formula)
            terms.append(RandomEffectsTerm(groupingName: term.groupingName, levels: levels, groupCodes: codes,
                                           coefficientNames: model.columnNames, modelRows: model.matrix))
        }
        // lme4 (mkReTrms) and MixedModels.jl order terms by decreasing number of levels; the sort is stable.
        let order = terms.indices.sorted { a, b in
            terms[a].levelCount != terms[b].levelCount ? terms[a].levelCount > terms[b].levelCount : a < b
        }
        terms = order.map { terms[$0] }
        try DesignChecks.checkSizes(terms: terms, observations: data.rowCount, source: fullData.source, allowEqual: !family.hasDispersion)
        let (fixed, droppedColumns) = DesignChecks.dropRankDeficientColumns(fullFixed)

        let adjusted = zip(response, offset).map { $0 - $1 }
        try DesignChecks.checkResponse(response, adjusted: adjusted, name: responseName, fixed: fixed, source: fullData.source,
                                       gaussian: family.isGaussian)
        // A GLMM's products are refilled with IRLS weights by its fit; these unit-weight ones give the layout.
        let crossProducts = CrossProducts(terms: terms, fixed: fixed.matrix, response: adjusted, weights: family.isGaussian ? priorWeights : nil)
        var design = Design(formula: formula, dataSource: fullData.source, responseName: responseName, family: family, response: response,
                            priorWeights: priorWeights, weightsName: weightsName, offset: offset, fixed: fixed, terms: terms, rowsDropped: dropped, crossProducts: crossProducts)
        design.droppedFixedColumns = droppedColumns
        return design
    }

    /// The grouping factor of `a:b:…`: combined labels in R's `a:b` order (levels of the first
    /// variable vary slowest), unused combinations dropped.
    static func groupingFactor(_ variables: [String], data: DataTable) -> (levels: [String], codes: [Int32]) {
        var factors: [Factor] = []
        for name in variables {
            if case .categorical(let factor)? = data.column(name) { factors.append(factor) }
        }
        precondition(factors.count == variables.count, "grouping factors are checked categorical before")
        if factors.count == 1 { return dropUnused(levels: factors[0].levels, codes: factors[0].codes) }
        var levels = [""]
        var codes = Array(repeating: 0, count: data.rowCount)
        for factor in factors {
            let count = factor.levels.count
            levels = levels.flatMap { prefix in factor.levels.map { prefix.isEmpty ? $0 : prefix + ":" + $0 } }
            for i in 0..<codes.count { codes[i] = codes[i] * count + Int(factor.codes[i]) }
        }
        return dropUnused(levels: levels, codes: codes.map { Int32($0) })
    }

    static func dropUnused(levels: [String], codes: [Int32]) -> (levels: [String], codes: [Int32]) {
        var used = Array(repeating: false, count: levels.count)
        for code in codes { used[Int(code)] = true }
        if !used.contains(false) { return (levels, codes) }
        var newIndex = Array(repeating: Int32(-1), count: levels.count)
        var kept: [String] = []
        for (index, level) in levels.enumerated() where used[index] {
            newIndex[index] = Int32(kept.count)
            kept.append(level)
        }
        return (kept, codes.map { newIndex[Int($0)] })
    }
}

public enum DesignError: Error, CustomStringConvertible, Equatable {
    case noCompleteRows(source: String, columns: [String])

    public var description: String {
        switch self {
        case .noCompleteRows(let source, let columns):
            return "\(source): no row has all of the model's columns (\(columns.joined(separator: ", "))) present; check for NA or empty cells"
        }
    }
}

extension Design {
    /// For all-scalar designs, keeps each row's positions in the cross-products' pattern and its
    /// values, so that refills read them from tables (`CrossProducts.cacheRowSlots`): call once
    /// before refilling at every sweep.
    public mutating func prepareCrossProductRefills() {
        crossProducts.cacheRowSlots(terms: terms, fixed: fixed.matrix)
    }

    /// [Z X z]ᵀ W [Z X z] in place of the cross-products: the conditionally Gaussian model of a
    /// data-augmentation step, working response z (offset already taken out) and weights w
    /// (docs/math.md, eq. 101).
    public mutating func refillCrossProducts(response working: [Double], weights: [Double]) {
        precondition(working.count == observationCount && weights.count == observationCount)
        crossProducts.fill(terms: terms, fixed: fixed.matrix, response: working, weights: weights)
    }

    /// The weighted linear mixed model of a GLMM's IRLS step (PQL): the same X and terms, a
    /// working response z (offset already taken out) and working weights as prior weights.
    public func workingLinearModel(response working: [Double], weights: [Double]) -> Design {
        precondition(working.count == observationCount && weights.count == observationCount)
        let products = CrossProducts(terms: terms, fixed: fixed.matrix, response: working, weights: weights)
        return Design(formula: formula, dataSource: dataSource, responseName: responseName, family: .gaussian, response: working,
                      priorWeights: weights, weightsName: nil, offset: Array(repeating: 0, count: observationCount), fixed: fixed,
                      terms: terms, rowsDropped: rowsDropped, crossProducts: products)
    }

    /// A copy whose numeric arrays are its own (`Array.unsharedCopy`): each chain of a run
    /// samples from one, so that chains on different cores never touch one array's reference
    /// count (with shared arrays, two chains in one process ran 1.6 times slower than two
    /// processes; docs/benchmarks.md).
    public func unsharedCopy() -> Design {
        let fixed = ModelMatrix(matrix: self.fixed.matrix.unsharedCopy(), columnNames: self.fixed.columnNames)
        var copy = Design(formula: formula, dataSource: dataSource, responseName: responseName, family: family,
                          response: response.unsharedCopy(), priorWeights: priorWeights?.unsharedCopy(), weightsName: weightsName,
                          offset: offset.unsharedCopy(), fixed: fixed, terms: terms.map { $0.unsharedCopy() },
                          rowsDropped: rowsDropped, crossProducts: crossProducts.unsharedCopy())
        copy.droppedFixedColumns = droppedFixedColumns
        return copy
    }
}

extension Design {
    /// The term that is an intercept with one row per level, (1 | obs): a Poisson model's
    /// observation-level random effect, the usual model of overdispersion. nil when there is none.
    public var observationLevelInterceptTerm: Int? {
        terms.indices.first { j in
            terms[j].isIntercept && terms[j].levelCount == observationCount
        }
    }

    /// The Gaussian linear mixed model of a Poisson model's latent log rates ψ (docs/math.md,
    /// eq. 112): ψ = offset + Xβ + Zb + e, the term `dropped` (an observation-level intercept,
    /// `observationLevelInterceptTerm`) playing the residual e, the other terms, X and the offset
    /// as they are. `logRates` is ψ (the products hold ψ − offset).
    public func latentLogRateModel(droppingTerm dropped: Int, logRates: [Double]) -> Design {
        precondition(logRates.count == observationCount && terms.count >= 2)
        let kept = terms.enumerated().filter { $0.offset != dropped }.map(\.element)
        let adjusted = zip(logRates, offset).map { $0 - $1 }
        let products = CrossProducts(terms: kept, fixed: fixed.matrix, response: adjusted)
        return Design(formula: formula, dataSource: dataSource, responseName: responseName, family: .gaussian, response: logRates,
                      priorWeights: nil, weightsName: nil, offset: offset, fixed: fixed,
                      terms: kept, rowsDropped: rowsDropped, crossProducts: products)
    }
}
