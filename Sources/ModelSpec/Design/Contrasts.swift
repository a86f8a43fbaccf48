import Foundation

/// How a factor is coded where R codes it by contrasts (see `ModelMatrix.build`).
public enum ContrastKind: String, Sendable, CaseIterable {
    /// R's `contr.treatment`: one indicator per level but the reference level; columns named
    /// `Type` + level (`TypeMississippi`).
    case treatment
    /// R's `contr.sum`: level i < k is e_i, the last level is −1 in every column; columns
    /// `Type1` … `Type(k−1)`.
    case sum
    /// R's `contr.helmert`: column j is −1 for levels 1…j, j for level j+1, 0 after; `Type1` ….
    case helmert
    /// R's `contr.poly` (ordered factors): orthonormal polynomials in the level scores 1…k;
    /// columns `.L`, `.Q`, `.C`, `^4`, `^5`, ….
    case poly

    /// Accepts `treatment`, `sum`, `helmert`, `poly` and R's names `contr.treatment`, ….
    public init?(name: String) {
        let bare = name.hasPrefix("contr.") ? String(name.dropFirst(6)) : name
        self.init(rawValue: bare)
    }

    /// k x (k−1) contrast matrix (row = level) and the column-name suffixes, as R's `contr.*`.
    /// For treatment contrasts the reference is the first level (reorder levels first).
    public func matrix(levelCount k: Int) -> (suffixes: [String], rows: [[Double]]) {
        precondition(k >= 2)
        var rows = [[Double]](repeating: [Double](repeating: 0, count: k - 1), count: k)
        switch self {
        case .treatment:
            for level in 1..<k { rows[level][level - 1] = 1 }
            return ([], rows)   // names are the levels; see ModelMatrix
        case .sum:
            for level in 0..<(k - 1) { rows[level][level] = 1 }
            rows[k - 1] = [Double](repeating: -1, count: k - 1)
        case .helmert:
            for column in 0..<(k - 1) {
                for level in 0...column { rows[level][column] = -1 }
                rows[column + 1][column] = Double(column + 1)
            }
        case .poly:
            let columns = OrthogonalPolynomials.basis(values: (1...k).map(Double.init), degree: k - 1)
            for level in 0..<k { for column in 0..<(k - 1) { rows[level][column] = columns[column][level] } }
            return ((1..<k).map { $0 == 1 ? ".L" : $0 == 2 ? ".Q" : $0 == 3 ? ".C" : "^\($0)" }, rows)
        }
        return ((1..<k).map(String.init), rows)
    }
}

/// The contrast choices of a model: per factor a kind, a reference level for treatment
/// contrasts, and the factors declared ordered (which get `poly` unless a kind is given), as R
/// users set them with `lmer(contrasts = list(...))`, `relevel()` and `ordered()`. Kinds apply
/// to the fixed effects only, as lme4's `contrasts` argument does (`ofFactors`).
public struct Contrasts: Sendable, Equatable {
    public var kinds: [String: ContrastKind]
    public var references: [String: String]
    public var ordered: Set<String>

    public init(kinds: [String: ContrastKind] = [:], references: [String: String] = [:], ordered: Set<String> = []) {
        self.kinds = kinds
        self.references = references
        self.ordered = ordered
    }

    /// What random-effects terms use, as in lme4: `lmer(contrasts = )` codes the fixed effects
    /// only, while a reference level (`relevel`) and `ordered` are properties of the factor and
    /// hold in every model matrix.
    public var ofFactors: Contrasts {
        Contrasts(references: references, ordered: ordered)
    }

    /// The kind for `factor`: as given, else `poly` for an ordered factor, else `treatment`.
    public func kind(of factor: String) -> ContrastKind {
        kinds[factor] ?? (ordered.contains(factor) ? .poly : .treatment)
    }

    /// Every factor named anywhere here.
    public var factorsNamed: Set<String> {
        Set(kinds.keys).union(references.keys).union(ordered)
    }

    /// Every factor named here must be a categorical column the formula uses in a model matrix.
    func check(against formula: Formula, data: DataTable) throws {
        let used = Set(formula.fixedTerms.flatMap(\.variables) + formula.randomTerms.flatMap { $0.effects.flatMap(\.variables) })
        for name in factorsNamed.sorted() {
            guard used.contains(name), case .categorical? = data.column(name) else {
                let factors = used.filter { if case .categorical? = data.column($0) { return true } else { return false } }.sorted()
                throw ContrastsError(message: "contrasts, reference level or ordered given for '\(name)', which is not a factor in the formula's terms; its factors are: \(factors.isEmpty ? "none" : factors.joined(separator: ", "))")
            }
        }
    }

    /// Parses `A=sum,B=helmert` (`--contrasts`) into kinds.
    public static func kinds(from text: String) throws -> [String: ContrastKind] {
        try assignments(text, flag: "--contrasts", example: "Machine=sum").mapValues { value in
            guard let kind = ContrastKind(name: value) else {
                throw ContrastsError(message: "unknown contrasts '\(value)'; use one of: \(ContrastKind.allCases.map(\.rawValue).joined(separator: ", ")) (or R's contr.sum, ...)")
            }
            return kind
        }
    }

    /// Parses `Type=Mississippi,B=x` (`--reference`) into reference levels.
    public static func references(from text: String) throws -> [String: String] {
        try assignments(text, flag: "--reference", example: "Type=Mississippi")
    }

    private static func assignments(_ text: String, flag: String, example: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ContrastsError(message: "\(flag) takes FACTOR=VALUE pairs separated by commas, e.g. \(example); got '\(item)'")
            }
            result[parts[0]] = parts[1]
        }
        return result
    }
}

public struct ContrastsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

/// Orthonormal polynomial bases as R builds them (`contr.poly`, `poly(x, k)`): the columns of
/// the QR factorization of [1, x − x̄, (x − x̄)², …], signed so each column has a positive
/// inner product with its power (R multiplies Q by R's diagonal before normalizing), without
/// the constant column. Gram–Schmidt done twice per column keeps them orthogonal to rounding.
enum OrthogonalPolynomials {
    static func basis(values x: [Double], degree: Int) -> [[Double]] {
        let n = x.count
        let mean = x.reduce(0, +) / Double(n)
        let centered = x.map { $0 - mean }
        var basis: [[Double]] = [[Double](repeating: 1 / Double(n).squareRoot(), count: n)]
        for power in 1...max(degree, 1) where power <= degree {
            var column = centered.map { Foundation.pow($0, Double(power)) }
            for _ in 0..<2 {
                for q in basis {
                    let projection = zip(q, column).reduce(0) { $0 + $1.0 * $1.1 }
                    for i in 0..<n { column[i] -= projection * q[i] }
                }
            }
            let norm = column.reduce(0) { $0 + $1 * $1 }.squareRoot()
            basis.append(column.map { $0 / norm })
        }
        return Array(basis.dropFirst())
    }
}
