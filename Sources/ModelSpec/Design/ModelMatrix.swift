import Linalg

/// A model matrix as R's `model.matrix` builds it: one row per observation, one named column per
/// coefficient.
public struct ModelMatrix: Sendable {
    /// rows × columns, column-major.
    public let matrix: Matrix
    /// Column names as R prints them: `(Intercept)`, `Days`, `service1`, `Days:service1`.
    public let columnNames: [String]

    public init(matrix: Matrix, columnNames: [String]) {
        self.matrix = matrix
        self.columnNames = columnNames
    }
}

extension ModelMatrix {
    /// R's `model.matrix` with treatment contrasts for `intercept` + `terms`, on all rows of `data`.
    ///
    /// Coding follows R's rule (`TermCode` in R's `model.c`, after Chambers & Hastie, *Statistical
    /// Models in S*, p. 38): in a term T, a factor f is coded by **contrasts** (baseline = first
    /// level dropped) if T without f is empty or is contained in a term that comes earlier;
    /// otherwise by **dummy variables** (one column per level). Without an intercept, the first
    /// factor of the first term that has a factor is switched to dummy coding, so `0 + f` gives
    /// one column per level while `0 + f + g` still drops g's baseline. Numeric columns enter as
    /// they are; a term's columns vary its first variable fastest, as R's do.
    ///
    /// - Throws: `FormulaError` at the variable's position in `formula` for a column the data does
    ///   not have, or a factor with one level that needs contrasts; `DataError` if a used column
    ///   has a missing value (the caller drops incomplete rows first, with `completeRows`/`subset`).
    public static func build(intercept: Bool, terms: [Interaction], data: DataTable, formula: Formula) throws -> ModelMatrix {
        let columnsByName = try resolveColumns(terms: terms, data: data, formula: formula)
        let codings = codings(intercept: intercept, terms: terms, columns: columnsByName)

        var names: [String] = []
        var storage: [Double] = []
        let rowCount = data.rowCount
        if intercept {
            names.append("(Intercept)")
            storage.append(contentsOf: repeatElement(1.0, count: rowCount))
        }
        for (term, coding) in zip(terms, codings) {
            let components = try term.variables.enumerated().map { index, variable -> [Component] in
                guard let column = columnsByName[variable] else { return [] }
                return try self.components(of: variable, column: column, contrasts: coding[index], formula: formula)
            }
            appendProducts(of: components, rowCount: rowCount, names: &names, storage: &storage)
        }
        return ModelMatrix(matrix: Matrix(rows: rowCount, columns: names.count, storage: storage), columnNames: names)
    }

    /// One factor of a column of the model matrix: a numeric column, or the indicator of a level.
    private enum Component {
        case numeric(name: String, values: [Double])
        case indicator(name: String, codes: [Int32], level: Int32)

        var name: String {
            switch self {
            case .numeric(let name, _), .indicator(let name, _, _): return name
            }
        }

        func value(at row: Int) -> Double {
            switch self {
            case .numeric(_, let values): return values[row]
            case .indicator(_, let codes, let level): return codes[row] == level ? 1 : 0
            }
        }
    }

    /// Looks up every variable of `terms`, failing with a pointer into the formula for unknown
    /// names and with the file line for missing values.
    private static func resolveColumns(terms: [Interaction], data: DataTable, formula: Formula) throws -> [String: Column] {
        var result: [String: Column] = [:]
        for variable in terms.flatMap(\.variables) where result[variable] == nil {
            guard let column = data.column(variable) else {
                throw FormulaError(formula: formula.source, position: formula.position(of: variable) ?? 0,
                                   message: "unknown column '\(variable)'; columns in \(data.sourceName) are: \(data.columnNames.joined(separator: ", "))")
            }
            if let row = (0..<data.rowCount).first(where: { column.isMissing($0) }) {
                let line = data.line(ofRow: row)
                throw DataError(file: data.source, line: line, column: variable,
                                message: "column \(variable) has a missing value at line \(line)",
                                fix: "drop incomplete rows before building the model matrix (DataTable.completeRows and subset)")
            }
            result[variable] = column
        }
        return result
    }

    /// Per term and variable: true for contrasts, false for dummy coding (numeric variables: unused).
    private static func codings(intercept: Bool, terms: [Interaction], columns: [String: Column]) -> [[Bool]] {
        func isFactor(_ variable: String) -> Bool {
            if case .categorical? = columns[variable] { return true }
            return false
        }
        let termSets = terms.map { Set($0.variables) }
        var codings = terms.enumerated().map { termIndex, term in
            term.variables.map { variable -> Bool in
                let rest = termSets[termIndex].subtracting([variable])
                return rest.isEmpty || termSets[..<termIndex].contains { rest.isSubset(of: $0) }
            }
        }
        if !intercept,
           let termIndex = terms.firstIndex(where: { $0.variables.contains(where: isFactor) }),
           let variableIndex = terms[termIndex].variables.firstIndex(where: isFactor) {
            codings[termIndex][variableIndex] = false
        }
        return codings
    }

    private static func components(of variable: String, column: Column, contrasts: Bool, formula: Formula) throws -> [Component] {
        let displayName = rDisplayName(variable)
        switch column {
        case .numeric(let values):
            return [.numeric(name: displayName, values: values)]
        case .categorical(let factor):
            if contrasts && factor.levels.count < 2 {
                let only = factor.levels.first.map { " ('\($0)')" } ?? ""
                throw FormulaError(formula: formula.source, position: formula.position(of: variable) ?? 0,
                                   message: "factor '\(variable)' has \(factor.levels.count) level\(only) in the data; contrasts need at least 2 (drop the term or check the data)")
            }
            let first = contrasts ? 1 : 0
            return (first..<factor.levels.count).map { level in
                .indicator(name: displayName + factor.levels[level], codes: factor.codes, level: Int32(level))
            }
        }
    }

    /// Appends the columns of one term: every combination of one component per variable, the
    /// first variable varying fastest (R's column order for interactions).
    private static func appendProducts(of components: [[Component]], rowCount: Int, names: inout [String], storage: inout [Double]) {
        guard !components.isEmpty, components.allSatisfy({ !$0.isEmpty }) else { return }
        var choice = [Int](repeating: 0, count: components.count)
        while true {
            let picked = choice.enumerated().map { components[$0.offset][$0.element] }
            names.append(picked.map(\.name).joined(separator: ":"))
            for row in 0..<rowCount {
                var product = 1.0
                for component in picked { product *= component.value(at: row) }
                storage.append(product)
            }
            // Advance the mixed-radix counter, first digit fastest.
            var digit = 0
            while digit < choice.count {
                choice[digit] += 1
                if choice[digit] < components[digit].count { break }
                choice[digit] = 0
                digit += 1
            }
            if digit == choice.count { return }
        }
    }

    /// A name as R prints it in column names: backtick-quoted unless it is syntactic.
    static func rDisplayName(_ name: String) -> String {
        isSyntacticName(name) ? name : "`\(name)`"
    }

    private static let reservedWords: Set<String> = [
        "if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE", "NULL",
        "Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "in",
    ]

    private static func isSyntacticName(_ name: String) -> Bool {
        guard let first = name.first, !reservedWords.contains(name) else { return false }
        guard first.isLetter || first == "." else { return false }
        if first == ".", let second = name.dropFirst().first, second.isNumber { return false }
        return name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" }
    }
}
