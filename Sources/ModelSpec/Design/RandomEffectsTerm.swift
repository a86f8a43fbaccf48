import Linalg

/// One random-effects term `(effects | grouping)`: its grouping factor, its per-observation model
/// rows, and how θ fills its relative covariance factor (lme4's `Lind`).
///
/// With k coefficients, the term's covariance is σ² T Tᵀ, where T is the k x k lower-triangular
/// relative covariance factor whose lower triangle, column by column, is this term's slice of θ
/// (docs/math.md, eq. 2). Diagonal entries of T are bounded below by 0, the others are free.
public struct RandomEffectsTerm: Sendable {
    /// The grouping factor as lme4 prints it (`Subject`, `dept:service`).
    public let groupingName: String
    /// Group labels in factor-level order (combined labels `a:b` for interactions).
    public let levels: [String]
    /// Level index of each observation (rows of the design).
    public let groupCodes: [Int32]
    /// Coefficient names as lme4 prints them (`(Intercept)`, `Days`).
    public let coefficientNames: [String]
    /// The term's model matrix: observations x coefficients.
    public let modelRows: Matrix

    public init(groupingName: String, levels: [String], groupCodes: [Int32], coefficientNames: [String], modelRows: Matrix) {
        self.groupingName = groupingName
        self.levels = levels
        self.groupCodes = groupCodes
        self.coefficientNames = coefficientNames
        self.modelRows = modelRows
    }

    /// Whether the term is a random intercept alone, (1 | g): one coefficient, 1 on every row.
    public var isIntercept: Bool { size == 1 && modelRows.storage.allSatisfy { $0 == 1 } }

    /// When every level of this term lies inside one level of `coarse` (BROOD in LOCATION), that
    /// level per level of this one; nil when some level spans two.
    public func parentLevels(in coarse: RandomEffectsTerm) -> [Int32]? {
        var parent = [Int32](repeating: -1, count: levelCount)
        for (code, coarseCode) in zip(groupCodes, coarse.groupCodes) {
            let h = Int(code)
            if parent[h] < 0 { parent[h] = coarseCode } else if parent[h] != coarseCode { return nil }
        }
        return parent
    }

    /// k, the number of coefficients per group.
    public var size: Int { coefficientNames.count }
    public var levelCount: Int { levels.count }
    /// Number of random effects: levels x coefficients.
    public var effectCount: Int { levels.count * size }
    /// Number of θ entries: the lower triangle of T.
    public var thetaCount: Int { size * (size + 1) / 2 }

    /// (row, column) in T of each θ entry, in lme4's order (column-major lower triangle).
    public var thetaPositions: [(row: Int, column: Int)] {
        var positions: [(Int, Int)] = []
        for c in 0..<size { for r in c..<size { positions.append((r, c)) } }
        return positions
    }

    /// lme4's θ names: `Subject.(Intercept)`, `Subject.Days.(Intercept)`, `Subject.Days`.
    public var thetaNames: [String] {
        thetaPositions.map { r, c in
            r == c ? "\(groupingName).\(coefficientNames[r])" : "\(groupingName).\(coefficientNames[r]).\(coefficientNames[c])"
        }
    }

    /// Lower bounds of θ: 0 on T's diagonal, -∞ below it (lme4's `lower`).
    public var thetaLowerBounds: [Double] { thetaPositions.map { $0.row == $0.column ? 0 : -.infinity } }

    /// lme4's starting value: T = I.
    public var thetaStart: [Double] { thetaPositions.map { $0.row == $0.column ? 1 : 0 } }

    /// T (column-major k x k, zero above the diagonal) from this term's slice of θ.
    public func relativeCovarianceFactor<C: Collection<Double>>(theta: C) -> [Double] where C.Index == Int {
        precondition(theta.count == thetaCount)
        var factor = Array(repeating: 0.0, count: size * size)
        for (index, position) in thetaPositions.enumerated() {
            factor[position.row + position.column * size] = theta[theta.startIndex + index]
        }
        return factor
    }
}

extension RandomEffectsTerm {
    /// The names lme4 gives the terms in `VarCorr` and the summary: the grouping names in term
    /// order made unique as R's `make.unique` does, so the second and later terms on one factor
    /// are `Subject.1`, `Subject.2` (`(Days || Subject)`, `(1 | Subject) + (0 + Days | Subject)`).
    /// A suffix already taken by another name is skipped, as R skips it.
    public static func varianceComponentLabels(_ terms: [RandomEffectsTerm]) -> [String] {
        var taken = Set(terms.map(\.groupingName))
        var counts: [String: Int] = [:]
        var seen = Set<String>()
        return terms.map { term in
            let name = term.groupingName
            if seen.insert(name).inserted { return name }
            var suffix = counts[name, default: 0]
            var candidate: String
            repeat {
                suffix += 1
                candidate = "\(name).\(suffix)"
            } while taken.contains(candidate)
            counts[name] = suffix
            taken.insert(candidate)
            return candidate
        }
    }
}

extension RandomEffectsTerm {
    /// A copy whose numeric arrays are its own (`Array.unsharedCopy`).
    public func unsharedCopy() -> RandomEffectsTerm {
        RandomEffectsTerm(groupingName: groupingName, levels: levels, groupCodes: groupCodes.unsharedCopy(),
                          coefficientNames: coefficientNames, modelRows: modelRows.unsharedCopy())
    }
}
