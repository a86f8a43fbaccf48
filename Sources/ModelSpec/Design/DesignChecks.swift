import Foundation
import Linalg

/// The checks lme4 makes on a design before any work starts, with lme4's wording, and the
/// response checks lme4 leaves to the optimizer (which then reports variances of 1e-12 and t
/// values of a billion). `Design.build` calls them in lme4's order: the grouping factors
/// (`checkNlevels`: `check.nlev.gtr.1`, `check.nobs.vs.nlev`), the random-effects sizes
/// (`checkZdims`: `check.nobs.vs.nRE`), the fixed-effects rank (`chkRank.drop.cols`,
/// `check.rankX = "message+drop.cols"`), then the response.
public enum DesignChecks {
    /// A column that is the response and also a predictor: R's `model.frame` drops it with the
    /// warning "the response appeared on the right-hand side and was dropped"; here it is an
    /// error pointing at the right-hand mention, since the model asked for cannot be meant.
    public static func checkResponseNotOnRight(_ formula: Formula) throws {
        guard let response = formula.response,
              let tilde = formula.source.firstIndex(of: "~"),
              let position = wordPosition(response, in: formula.source, after: tilde) else { return }
        throw FormulaError(formula: formula.source, position: position,
                           message: "the response '\(response)' appears on the right-hand side too; a column cannot explain itself (remove it after '~')")
    }

    /// Byte offset of `word` as a whole name in `text` after `start`, or nil.
    static func wordPosition(_ word: String, in text: String, after start: String.Index) -> Int? {
        var searchStart = text.index(after: start)
        while let range = text.range(of: word, range: searchStart..<text.endIndex) {
            func isNamePart(_ character: Character) -> Bool {
                character.isLetter || character.isNumber || character == "." || character == "_"
            }
            let before = range.lowerBound > text.startIndex ? text[text.index(before: range.lowerBound)] : " "
            let after = range.upperBound < text.endIndex ? text[range.upperBound] : " "
            if !isNamePart(before) && !isNamePart(after) && before != "`" {
                return text.utf8.distance(from: text.startIndex, to: range.lowerBound)
            }
            searchStart = range.upperBound
        }
        return nil
    }

    /// lme4's `check.nlev.gtr.1`: every grouping factor has at least two levels in the rows used.
    public static func checkLevelCount(grouping: [String], levels: [String], formula: Formula) throws {
        guard levels.count < 2 else { return }
        let name = grouping.joined(separator: ":")
        let only = levels.first.map { " ('\($0)')" } ?? ""
        throw FormulaError(formula: formula.source, position: formula.position(of: grouping[0]) ?? 0,
                           message: "grouping factors must have > 1 sampled level: '\(name)' has \(levels.count) level\(only) in the rows used")
    }

    /// lme4's `check.nobs.vs.nlev` and `check.nobs.vs.nRE` on the terms in lme4's order (by
    /// decreasing number of levels), before anything is fitted.
    ///
    /// - A grouping factor with as many levels as observations (or more) makes its effects
    ///   indistinguishable from the residual.
    /// - A term with at least as many random effects as observations leaves the random-effects
    ///   parameters and σ unidentifiable.
    ///
    /// `allowEqual`: a family without a dispersion parameter (binomial, Poisson) has no residual
    /// to confuse the effects with, so lme4's `glmer` allows one level (and one effect) per
    /// observation (`allow.n = TRUE`: an observation-level random effect, grouseticks' `INDEX`)
    /// and refuses only more.
    public static func checkSizes(terms: [RandomEffectsTerm], observations: Int, source: String, allowEqual: Bool = false) throws {
        func tooMany(_ count: Int) -> Bool { allowEqual ? count > observations : count >= observations }
        var problems: [String] = []
        for term in terms where tooMany(term.levelCount) && !problems.contains(term.groupingName) {
            problems.append(term.groupingName)
        }
        if !problems.isEmpty {
            throw DataError(file: source,
                            message: "number of levels of each grouping factor must be \(allowEqual ? "<=" : "<") number of observations (problems: \(problems.joined(separator: ", ")))",
                            fix: "each level needs several rows: drop the term for \(problems.joined(separator: ", ")) (one row per level is the residual's job) or group by a coarser factor")
        }
        for term in terms where tooMany(term.effectCount) {
            let residual = allowEqual ? "" : " and the residual variance (or scale parameter)"
            throw DataError(file: source,
                            message: "number of observations (=\(observations)) \(allowEqual ? "<" : "<=") number of random effects (=\(term.effectCount)) for term (\(termText(term))); the random-effects parameters\(residual) are probably unidentifiable",
                            fix: "simplify the term (fewer coefficients per group, e.g. (1 | \(term.groupingName))) or use more observations")
        }
    }

    /// `(1 + x | g)` as lme4 names a term in its messages (from the coefficients, so `(x | g)`
    /// reads `1 + x | g`).
    static func termText(_ term: RandomEffectsTerm) -> String {
        var parts = term.coefficientNames.map { $0 == "(Intercept)" ? "1" : $0 }
        if parts.first != "1" { parts.insert("0", at: 0) }
        return parts.joined(separator: " + ") + " | " + term.groupingName
    }

    /// lme4's default `check.rankX = "message+drop.cols"`: a QR decomposition with R's limited
    /// column pivoting (`qr(X, tol = 1e-7)`, LINPACK `dqrdc2`) finds the rank; columns past the
    /// rank are dropped, keeping the others in their order. A column is negligible when its norm,
    /// after projecting out the columns kept before it, falls below 1e-7 times its own norm, so
    /// the tolerance scales with each column (a constant beside the intercept is dropped whatever
    /// its value).
    ///
    /// Returns X without the dropped columns and the dropped columns' names (empty when X has
    /// full column rank; X is then returned as it is).
    public static func dropRankDeficientColumns(_ fixed: ModelMatrix) -> (matrix: ModelMatrix, dropped: [String]) {
        let rank = pivotedQR(fixed.matrix)
        guard rank.dropped.count > 0 else { return (fixed, []) }
        let n = fixed.matrix.rows
        var storage: [Double] = []
        storage.reserveCapacity(n * rank.kept.count)
        for column in rank.kept {
            storage.append(contentsOf: fixed.matrix.storage[column * n ..< (column + 1) * n])
        }
        let kept = ModelMatrix(matrix: Matrix(rows: n, columns: rank.kept.count, storage: storage),
                               columnNames: rank.kept.map { fixed.columnNames[$0] })
        return (kept, rank.dropped.map { fixed.columnNames[$0] })
    }

    /// lme4's message for dropped columns, with their names.
    public static func rankDeficiencyNote(dropped: [String]) -> String {
        let count = dropped.count
        return "fixed-effect model matrix is rank deficient so dropping \(count) column\(count == 1 ? "" : "s") / coefficient\(count == 1 ? "" : "s") (\(dropped.joined(separator: ", ")))"
    }

    /// R's `dqrdc2` (Householder QR with limited column pivoting, tolerance 1e-7 relative to each
    /// column's original norm): the columns kept (the first `rank` of the pivot, in their
    /// original order) and those moved past the rank.
    static func pivotedQR(_ x: Matrix, tolerance: Double = 1e-7) -> (kept: [Int], dropped: [Int]) {
        let n = x.rows, p = x.columns
        // A buffer, not an array: `norm` captures it, and a captured `var` array is read through
        // its box on every access (these loops run over every row of X).
        let a = UnsafeMutableBufferPointer<Double>.allocate(capacity: x.storage.count)
        _ = a.initialize(from: x.storage)
        defer { a.deallocate() }
        var pivot = Array(0..<p)
        func norm(_ column: Int, from row: Int) -> Double {
            var scale = 0.0
            for i in row..<n { scale = max(scale, abs(a[column * n + i])) }
            guard scale > 0 else { return 0 }
            var sum = 0.0
            for i in row..<n { let v = a[column * n + i] / scale; sum += v * v }
            return scale * sum.squareRoot()
        }
        var residualNorm = (0..<p).map { norm($0, from: 0) }
        var originalNorm = residualNorm.map { $0 == 0 ? 1 : $0 }
        var k = p + 1
        for l in 0..<min(n, p) {
            // Cycle negligible columns to the end (l + 1 < k avoids cycling forever).
            while l + 1 < k && residualNorm[l] < originalNorm[l] * tolerance {
                let column = Array(a[l * n ..< (l + 1) * n])
                for j in l + 1 ..< p { for i in 0..<n { a[(j - 1) * n + i] = a[j * n + i] } }
                for i in 0..<n { a[(p - 1) * n + i] = column[i] }
                pivot.append(pivot.remove(at: l))
                residualNorm.append(residualNorm.remove(at: l))
                originalNorm.append(originalNorm.remove(at: l))
                k -= 1
            }
            if l == n - 1 { break }
            var nrmxl = norm(l, from: l)
            if nrmxl == 0 { continue }
            if a[l * n + l] != 0 { nrmxl = a[l * n + l] < 0 ? -abs(nrmxl) : abs(nrmxl) }
            for i in l..<n { a[l * n + i] /= nrmxl }
            a[l * n + l] += 1
            for j in l + 1 ..< p {
                var dot = 0.0
                for i in l..<n { dot += a[l * n + i] * a[j * n + i] }
                let t = -dot / a[l * n + l]
                for i in l..<n { a[j * n + i] += t * a[l * n + i] }
                guard residualNorm[j] != 0 else { continue }
                let ratio = abs(a[j * n + l]) / residualNorm[j]
                let remaining = max(1 - ratio * ratio, 0)
                if abs(remaining) < 1e-6 {
                    residualNorm[j] = norm(j, from: l + 1)
                } else {
                    residualNorm[j] *= remaining.squareRoot()
                }
            }
            a[l * n + l] = -nrmxl
        }
        let rank = min(k - 1, n)
        return (Array(pivot[..<rank]).sorted(), Array(pivot[rank...]))
    }

    /// The response a model can fit: not constant (lme4's `checkResponse`, "Response is
    /// constant"), and not an exact linear function of the fixed effects (all residuals zero,
    /// σ = 0: the REML criterion is -∞).
    /// `adjusted` is the response minus the offset, the vector the fixed effects fit; the second
    /// check is for Gaussian models only (a GLMM's response is not fitted by least squares).
    public static func checkResponse(_ response: [Double], adjusted: [Double], name: String, fixed: ModelMatrix, source: String,
                                     gaussian: Bool = true) throws {
        guard let first = response.first else { return }
        if response.allSatisfy({ $0 == first }) {
            throw DataError(file: source, column: name,
                            message: "Response is constant: \(name) is \(formatted(first)) in all \(response.count) rows used; there is no variation to model",
                            fix: "check that \(name) is the intended response column and that the file holds the measurements")
        }
        guard gaussian, fixed.matrix.columns > 0, fixed.matrix.columns < response.count else { return }
        var withResponse = fixed.matrix.storage
        withResponse.append(contentsOf: adjusted)
        let augmented = Matrix(rows: response.count, columns: fixed.matrix.columns + 1, storage: withResponse)
        if pivotedQR(augmented).dropped.contains(fixed.matrix.columns) {
            throw DataError(file: source, column: name,
                            message: "the response \(name) is an exact linear function of the fixed effects (\(fixed.columnNames.joined(separator: ", "))): every residual is zero, so no variance can be estimated",
                            fix: "check that \(name) is the measured response and not computed from the predictors")
        }
    }

    static func formatted(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}
