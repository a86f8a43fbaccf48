/// The response and prior weights of the rows used, as R's `glm` and lme4 take them for each
/// family, with an error naming file, line and column for every value the family cannot take.
///
/// - Gaussian: the response's values; `weights` (lme4's prior weights) must be positive.
/// - Binomial: `cbind(successes, failures)` gives y = s/(s+f) in s+f trials; a 0/1 column, a
///   two-level factor (first level = failure, as `glm`) or TRUE/FALSE one trial each; a
///   proportion with `weights` giving the trials.
/// - Poisson: non-negative whole counts (log exposure goes in `offset()`).
enum ResponseValues {
    static func evaluate(_ term: ResponseTerm, family: Family, weights weightsName: String?, data: DataTable,
                         formula: Formula) throws -> (response: [Double], weights: [Double]?) {
        let priorWeights = try weightsName.map { try positiveWeights($0, data: data) }
        switch (family.kind, term) {
        case (.binomial, .successesFailures(let successes, let failures, _)):
            let s = try counts(successes, role: "successes", data: data)
            let f = try counts(failures, role: "failures", data: data)
            var y = [Double](repeating: 0, count: s.count)
            var trials = [Double](repeating: 0, count: s.count)
            for i in s.indices {
                trials[i] = s[i] + f[i]
                y[i] = trials[i] > 0 ? s[i] / trials[i] : 0
                if let priorWeights { trials[i] *= priorWeights[i] }
            }
            return (y, trials)
        case (_, .successesFailures(_, _, let position)):
            throw FormulaError(formula: formula.source, position: position,
                               message: "cbind(successes, failures) is a binomial response; fit it with --family binomial")
        case (.binomial, .value(let expression)):
            if let name = expression.columnName, case .categorical(let factor)? = data.column(name) {
                return (try binaryFactor(factor, name: name, data: data), priorWeights)
            }
            return (try proportions(expression, weights: priorWeights, weightsName: weightsName, data: data), priorWeights)
        case (.poisson, .value(let expression)):
            return (try counts(expression, role: "the Poisson response", data: data), priorWeights)
        case (.gaussian, .value(let expression)):
            let values = try expression.evaluate(on: data)
            try requireFinite(values, expression: expression, data: data)
            return (values, priorWeights)
        }
    }

    /// A value as R prints it: `-1`, `2.5`, `Inf`.
    private static func text(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }

    private static func error(_ data: DataTable, row: Int, column: String, _ message: String, fix: String) -> DataError {
        DataError(file: data.source, line: data.line(ofRow: row), column: column, message: message, fix: fix)
    }

    private static func requireFinite(_ values: [Double], expression: ValueExpression, data: DataTable) throws {
        let name = expression.description
        for (row, value) in values.enumerated() where !value.isFinite {
            throw error(data, row: row, column: name, "the response \(name) is \(text(value)) at line \(data.line(ofRow: row))",
                        fix: "correct the value, or write a missing value as NA")
        }
    }

    /// Whole, non-negative, finite counts.
    private static func counts(_ expression: ValueExpression, role: String, data: DataTable) throws -> [Double] {
        let values = try expression.evaluate(on: data)
        let name = expression.description
        for (row, value) in values.enumerated() {
            let line = data.line(ofRow: row)
            if role == "failures" && value < 0 && value.isFinite {
                throw error(data, row: row, column: name, "failures (\(name)) is \(text(value)) at line \(line): more successes than trials",
                            fix: "check the successes and trials at line \(line); cbind() takes successes and failures (trials − successes)")
            }
            if !value.isFinite || value < 0 {
                throw error(data, row: row, column: name, "\(role) (\(name)) is \(text(value)) at line \(line); counts are whole numbers 0, 1, 2, …",
                            fix: "correct the value at line \(line), or write a missing value as NA")
            }
            if value != value.rounded() {
                let fix = role == "the Poisson response"
                    ? "give whole counts; a rate goes in as the count with offset(log(exposure)) on the right"
                    : "give whole counts; for a proportion of n trials use cbind(successes, failures) or --weights TRIALS"
                throw error(data, row: row, column: name, "\(role) (\(name)) is \(text(value)) at line \(line), not a whole number", fix: fix)
            }
        }
        return values
    }

    /// A two-level factor (or TRUE/FALSE) as 0/1: the first level is failure, as in R's `glm`.
    private static func binaryFactor(_ factor: Factor, name: String, data: DataTable) throws -> [Double] {
        guard factor.levels.count <= 2 else {
            // The row where a third distinct value first appears, in file order.
            var seen = Set<Int32>()
            let first = factor.codes.firstIndex { seen.insert($0); return seen.count == 3 } ?? 0
            throw error(data, row: first, column: name,
                        "the binomial response \(name) has \(factor.levels.count) levels (\(factor.levels.prefix(5).joined(separator: ", "))\(factor.levels.count > 5 ? ", …" : "")); a binary response has two",
                        fix: "recode \(name) to two levels (the first level, in sorted order, is failure), or give counts as cbind(successes, failures)")
        }
        return factor.codes.map { $0 == 1 ? 1 : 0 }
    }

    /// 0/1 values, or proportions when `weights` gives each row's trials (y · n must be whole).
    private static func proportions(_ expression: ValueExpression, weights: [Double]?, weightsName: String?, data: DataTable) throws -> [Double] {
        let values = try expression.evaluate(on: data)
        let name = expression.description
        for (row, value) in values.enumerated() {
            let line = data.line(ofRow: row)
            guard value.isFinite, value >= 0, value <= 1 else {
                throw error(data, row: row, column: name, "the binomial response \(name) is \(text(value)) at line \(line), outside [0, 1]",
                            fix: "give 0/1 outcomes, proportions with --weights TRIALS, or counts as cbind(successes, failures)")
            }
            if let weights {
                let successes = value * weights[row]
                // R's binomial()$initialize warns past 1e-3; a count must be whole.
                if abs(successes - successes.rounded()) > 1e-3 {
                    throw error(data, row: row, column: name,
                                "\(name) × \(weightsName ?? "weights") = \(text(successes)) successes at line \(line), not a whole number",
                                fix: "the weights of a proportion are its numbers of trials; check both columns at line \(line)")
                }
            } else if value != 0 && value != 1 {
                throw error(data, row: row, column: name, "the binomial response \(name) is \(text(value)) at line \(line); without --weights it must be 0 or 1",
                            fix: "for a proportion give the trials with --weights COLUMN, or give counts as cbind(successes, failures)")
            }
        }
        return values
    }

    private static func positiveWeights(_ name: String, data: DataTable) throws -> [Double] {
        let values = try data.numericColumn(name)
        for (row, value) in values.enumerated() where !(value.isFinite && value > 0) {
            let line = data.line(ofRow: row)
            throw error(data, row: row, column: name, "weight \(name) is \(text(value)) at line \(line); prior weights must be positive",
                        fix: "correct the weight at line \(line), or leave the row out")
        }
        return values
    }
}
