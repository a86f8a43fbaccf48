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
    /// R's `model.matrix` for `intercept` + `terms`, on all rows of `data`, with `contrasts`
    /// (treatment contrasts, the first level the reference, unless told otherwise).
    ///
    /// Coding follows R's rule (`TermCode` in R's `model.c`, after Chambers & Hastie, *Statistical
    /// Models in S*, p. 38): in a term T, a factor f is coded by **contrasts** (`Contrasts`) if T without f is empty or is contained in a term that comes earlier;
    /// otherwise by **dummy variables** (one column per level). Without an intercept, the first
    /// factor of the first term that has a factor is switched to dummy coding, so `0 + f` gives
    /// one column per level while `0 + f + g` still drops g's baseline. Numeric columns enter as
    /// they are; a term's columns vary its first variable fastest, as R's do.
    ///
    /// - Throws: `FormulaError` at the variable's position in `formula` for a column the data does
    ///   not have, or a factor with one level that needs contrasts; `DataError` if a used column
    ///   has a missing value (the caller drops incomplete rows first, with `completeRows`/`subset`).
    public static func build(intercept: Bool, terms: [Interaction], data: DataTable, formula: Formula,
                             contrasts: Contrasts = Contrasts()) throws -> ModelMatrix {
        let columnsByName = try resolveColumns(terms: terms, data: data, formula: formula)
        let codings = codings(intercept: intercept, terms: terms, columns: columnsByName)

        var names: [String] = []
        var storage: [Double] = []
        let rowCount = data.rowCount
        if intercept {
            names.append("(Intercept)")
            storage = Array(repeating: 1.0, count: rowCount)
        }
        for (term, coding) in zip(terms, codings) {
            let components = try term.variables.enumerated().map { index, variable -> [Component] in
                guard let column = columnsByName[variable] else { return [] }
                return try self.components(of: variable, column: column, contrasts: coding[index] ? contrasts : nil, formula: formula)
            }
            appendProducts(of: components, rowCount: rowCount, names: &names, storage: &storage)
        }
        return ModelMatrix(matrix: Matrix(rows: rowCount, columns: names.count, storage: storage), columnNames: names)
    }

    /// One factor of a column of the model matrix: a numeric column, or a factor's coding
    /// (an indicator of a level, or a contrast column: one value per level).
    private enum Component {
        case numeric(name: String, values: [Double])
        case coded(name: String, codes: [Int32], levelValues: [Double])

        var name: String {
            switch self {
            case .numeric(let name, _), .coded(let name, _, _): return name
            }
        }

        func value(at row: Int) -> Double {
            switch self {
            case .numeric(_, let values): return values[row]
            case .coded(_, let codes, let levelValues): return levelValues[Int(codes[row])]
            }
        }
    }

    /// Looks up every variable of `terms`: a column of `data`, or a call of the formula
    /// (`log(conc)`, `poly(x, 2)`, `factor(x)`) evaluated on the rows of `data`; failing with a
    /// pointer into the formula for unknown names and with the file line for missing values.
    private static func resolveColumns(terms: [Interaction], data: DataTable, formula: Formula) throws -> [String: EvaluatedVariable] {
        var result: [String: EvaluatedVariable] = [:]
        for variable in terms.flatMap(\.variables) where result[variable] == nil {
            for name in formula.columns(of: variable) {
                guard let column = data.column(name) else {
                    throw FormulaError(formula: formula.source, position: formula.position(of: name) ?? 0,
                                       message: "unknown column '\(name)'; columns in \(data.sourceName) are: \(data.columnNames.joined(separator: ", "))")
                }
                if let row = (0..<data.rowCount).first(where: { column.isMissing($0) }) {
                    let line = data.line(ofRow: row)
                    throw DataError(file: data.source, line: line, column: name,
                                    message: "column \(name) has a missing value at line \(line)",
                                    fix: "drop incomplete rows before building the model matrix (DataTable.completeRows and subset)")
                }
            }
            if let definition = formula.definitions[variable] {
                result[variable] = try definition.evaluate(on: data, label: variable)
            } else {
                result[variable] = .column(data.column(variable)!)
            }
        }
        return result
    }

    /// Per term and variable: true for contrasts, false for dummy coding (numeric variables: unused).
    private static func codings(intercept: Bool, terms: [Interaction], columns: [String: EvaluatedVariable]) -> [[Bool]] {
        func isFactor(_ variable: String) -> Bool {
            if case .column(.categorical)? = columns[variable] { return true }
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

    /// The components of one variable: a numeric column as it is; a factor by `contrasts`
    /// (nil: dummy coding, one indicator per level). A reference level moves to the front
    /// first, as R's `relevel` does, so dummy columns list it first too.
    private static func components(of variable: String, column evaluated: EvaluatedVariable, contrasts: Contrasts?, formula: Formula) throws -> [Component] {
        // A call is named as R deparses it (`log(conc)`), a column as R prints a name.
        let displayName = formula.definitions[variable] == nil ? rDisplayName(variable) : variable
        let column: Column
        switch evaluated {
        case .column(let value): column = value
        case .columns(let suffixes, let values):
            return zip(suffixes, values).map { .numeric(name: displayName + $0.0, values: $0.1) }
        }
        switch column {
        case .numeric(let values):
            return [.numeric(name: displayName, values: values)]
        case .categorical(let factor):
            var order = Array(factor.levels.indices)
            if let reference = contrasts?.references[variable] {
                guard let index = factor.levels.firstIndex(of: reference) else {
                    throw FormulaError(formula: formula.source, position: formula.position(of: variable) ?? 0,
                                       message: "reference level '\(reference)' is not a level of '\(variable)'; its levels are: \(factor.levels.joined(separator: ", "))")
                }
                order = [index] + order.filter { $0 != index }
            }
            let levelCount = factor.levels.count
            func coded(_ suffix: String, _ value: (Int) -> Double) -> Component {
                var levelValues = [Double](repeating: 0, count: levelCount)
                for (position, level) in order.enumerated() { levelValues[level] = value(position) }
                return .coded(name: displayName + suffix, codes: factor.codes, levelValues: levelValues)
            }
            guard let contrasts else {
                return order.enumerated().map { position, level in coded(factor.levels[level]) { $0 == position ? 1 : 0 } }
            }
            if levelCount < 2 {
                let only = factor.levels.first.map { " ('\($0)')" } ?? ""
                throw FormulaError(formula: formula.source, position: formula.position(of: variable) ?? 0,
                                   message: "factor '\(variable)' has \(levelCount) level\(only) in the data; contrasts need at least 2 (drop the term or check the data)")
            }
            let kind = contrasts.kind(of: variable)
            let (suffixes, rows) = kind.matrix(levelCount: levelCount)
            return (0..<(levelCount - 1)).map { column in
                coded(kind == .treatment ? factor.levels[order[column + 1]] : suffixes[column]) { rows[$0][column] }
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
