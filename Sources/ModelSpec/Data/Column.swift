import Foundation

/// One column of a `DataTable`.
public enum Column: Sendable, Equatable {
    /// Numbers; `NaN` marks a missing value.
    case numeric([Double])
    /// Labels coded as a factor.
    case categorical(Factor)

    public var count: Int {
        switch self {
        case .numeric(let values): return values.count
        case .categorical(let factor): return factor.codes.count
        }
    }

    /// True when row `row` holds a missing value (`NaN` or code -1).
    public func isMissing(_ row: Int) -> Bool {
        switch self {
        case .numeric(let values): return values[row].isNaN
        case .categorical(let factor): return factor.codes[row] < 0
        }
    }

    /// True when some row holds a missing value: one pass over the column's values, without a
    /// call per row.
    public var hasMissing: Bool {
        switch self {
        case .numeric(let values): return values.contains { $0.isNaN }
        case .categorical(let factor): return factor.codes.contains { $0 < 0 }
        }
    }
}

/// A categorical column as R stores a factor: sorted level labels and, per row, a code.
public struct Factor: Sendable, Equatable {
    /// Level labels in R's order (see `Factor.sortLevels`); the first is the treatment-contrast baseline.
    public let levels: [String]
    /// Per row, an index into `levels`; -1 marks a missing value.
    public let codes: [Int32]

    public init(levels: [String], codes: [Int32]) {
        self.levels = levels
        self.codes = codes
    }

    /// The factor restricted to `rows`, keeping only the levels that still occur (in their
    /// original relative order), as lme4's model frame does with `drop.unused.levels`.
    public func subset(rows: [Int]) -> Factor {
        var used = [Bool](repeating: false, count: levels.count)
        for row in rows where codes[row] >= 0 { used[Int(codes[row])] = true }
        var newCode = [Int32](repeating: -1, count: levels.count)
        var keptLevels: [String] = []
        for (index, label) in levels.enumerated() where used[index] {
            newCode[index] = Int32(keptLevels.count)
            keptLevels.append(label)
        }
        let newCodes = rows.map { row -> Int32 in
            let code = codes[row]
            return code < 0 ? -1 : newCode[Int(code)]
        }
        return Factor(levels: keptLevels, codes: newCodes)
    }
}

extension Factor {
    /// Sorts level labels the way R orders the levels of `factor(x)`, so that the baseline level,
    /// the column names and the column order of a model matrix match lme4's.
    ///
    /// - If every label is numeric-looking (`parseNumber` accepts it), R built the factor from
    ///   numbers, so levels sort **numerically**: "2" before "10", "-1" before "0". Labels with the
    ///   same value ("1", "1.0") are ordered by their text so the order is still total.
    /// - Otherwise labels sort as R's `sort()` does for strings in its default en_US.UTF-8
    ///   locale, where R collates with ICU (`capabilities("ICU")`, `icuGetCollate()`): the
    ///   Unicode Collation Algorithm with CLDR's root order, which en_US does not tailor.
    ///   Letters compare first without accents and case (`e`, `é`, `f`), then by accent, then by
    ///   case with lowercase first (`a`, `A`, `b`); punctuation is not ignored and sorts before
    ///   digits and letters, `_` before `.` (`_x`, `.x`, `x`); digits compare as characters
    ///   (`a10` before `a2`). Foundation's `compare(_:locale:)` is that collation (ICU); labels
    ///   it calls equal keep the order of their Unicode scalars.
    public static func sortLevels(_ labels: [String]) -> [String] {
        let numbers = labels.compactMap(parseNumber)
        if numbers.count == labels.count {
            let order = labels.indices.sorted { left, right in
                let (a, b) = (numbers[left], numbers[right])
                if a != b { return a < b }
                return labels[left] < labels[right]
            }
            return order.map { labels[$0] }
        }
        return labels.sorted(by: localeLess)
    }

    private static let collationLocale = Locale(identifier: "en_US")

    /// R's en_US string order as described in `sortLevels`.
    static func localeLess(_ left: String, _ right: String) -> Bool {
        switch left.compare(right, locale: collationLocale) {
        case .orderedAscending: return true
        case .orderedDescending: return false
        case .orderedSame: return left.unicodeScalars.lexicographicallyPrecedes(right.unicodeScalars)
        }
    }
}

/// Parses a number the way R's `type.convert` would accept it as numeric: optional sign, digits
/// with at most one decimal point, optional exponent; surrounding spaces allowed. "Inf", "NaN",
/// hexadecimal and other forms Swift's `Double.init` accepts are rejected on purpose: they would
/// turn a column into numbers silently where R would have read text (and NaN means missing here).
/// The value is `strtod`'s (`DecimalParser`, which the CSV reader uses on the file's bytes).
func parseNumber(_ text: String) -> Double? {
    var trimmed = text.trimmingSpaces()
    return trimmed.withUTF8 { DecimalParser.number($0) }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
