import Foundation

/// A function a formula may call, and the ones that make columns of their own (`poly`,
/// `factor`); the list every "unknown function" error prints.
enum FormulaFunctions {
    static let elementwise = ["log", "log2", "log10", "log1p", "exp", "expm1", "sqrt", "abs", "sin", "cos", "tan"]
    static let supported = "I, " + elementwise.joined(separator: ", ") + ", scale, poly, factor, offset (and cbind in a binomial response)"
}

/// The arguments of a call in a formula: positional ones, then `name = value` ones.
struct FunctionCall {
    let name: String
    let positional: [FormulaExpression]
    let named: [String: FormulaExpression]
    let position: Int
    let formula: String

    init(name: String, arguments: [FormulaExpression], position: Int, formula: String) throws {
        var positional: [FormulaExpression] = []
        var named: [String: FormulaExpression] = [:]
        for argument in arguments {
            if case .named(let key, let value, _) = argument { named[key] = value } else { positional.append(argument) }
        }
        (self.name, self.positional, self.named, self.position, self.formula) = (name, positional, named, position, formula)
    }

    func error(_ message: String) -> FormulaError {
        FormulaError(formula: formula, position: position, message: message)
    }

    /// Checks the shape `name(x, <positional names>…)` with optional named arguments; a
    /// positional argument may also be given by name.
    func require(_ usage: String, positional names: [String], required: Int, named allowed: [String] = []) throws {
        let given = positional.count + named.keys.filter(names.contains).count
        guard !positional.isEmpty, positional.count <= names.count, given >= required,
              named.keys.allSatisfy({ names.contains($0) || allowed.contains($0) }) else {
            let count = positional.count + named.count
            throw error("\(name)() takes \(usage); got \(count) argument\(count == 1 ? "" : "s")")
        }
    }

    /// The argument `name` (or at `index`), if given.
    func argument(_ key: String, at index: Int) -> FormulaExpression? {
        named[key] ?? (index < positional.count ? positional[index] : nil)
    }

    func number(_ key: String, at index: Int) throws -> Double? {
        guard let argument = argument(key, at: index) else { return nil }
        switch argument {
        case .number(let value, _): return value
        case .negate(.number(let value, _), _): return -value
        default: throw FormulaError(formula: formula, position: argument.position, message: "\(name)()'s \(key) must be a number")
        }
    }

    func logical(_ key: String, at index: Int, default value: Bool) throws -> Bool {
        guard let argument = argument(key, at: index) else { return value }
        switch argument {
        case .variable("TRUE", _), .variable("T", _): return true
        case .variable("FALSE", _), .variable("F", _): return false
        default: throw FormulaError(formula: formula, position: argument.position, message: "\(name)()'s \(key) must be TRUE or FALSE")
        }
    }
}

/// An elementwise function of a `ValueExpression`, as R computes it.
public enum ValueFunction: Sendable, Equatable {
    /// `I(…)`: the arithmetic inside, as written.
    case identity
    /// `log(x)` (natural) or `log(x, base)`.
    case log(base: Double?)
    case log2, log10, log1p, exp, expm1, sqrt, abs, sin, cos, tan
    /// `scale(x, center, scale)`: minus the mean, divided by the SD (n − 1) of the rows used.
    case scale(center: Bool, scale: Bool)

    /// The function of a call, nil for `poly` and `factor` (which make their own columns).
    init?(call: FunctionCall) throws {
        switch call.name {
        case "I":
            try call.require("one expression, e.g. I(x^2)", positional: ["x"], required: 1)
            self = .identity
        case "log":
            try call.require("a value and an optional base, e.g. log(x) or log(x, 2)", positional: ["x", "base"], required: 1)
            self = .log(base: try call.number("base", at: 1))
        case "scale":
            try call.require("a value and optional center = TRUE/FALSE, scale = TRUE/FALSE", positional: ["x", "center", "scale"], required: 1)
            self = .scale(center: try call.logical("center", at: 1, default: true), scale: try call.logical("scale", at: 2, default: true))
        case "poly", "factor":
            return nil
        case let name where FormulaFunctions.elementwise.contains(name):
            try call.require("one value, e.g. \(name)(x)", positional: ["x"], required: 1)
            switch name {
            case "log2": self = .log2
            case "log10": self = .log10
            case "log1p": self = .log1p
            case "exp": self = .exp
            case "expm1": self = .expm1
            case "sqrt": self = .sqrt
            case "abs": self = .abs
            case "sin": self = .sin
            case "cos": self = .cos
            default: self = .tan
            }
        default:
            throw call.error("unknown function '\(call.name)'; the functions are: \(FormulaFunctions.supported)")
        }
    }

    func apply(to x: [Double]) -> [Double] {
        switch self {
        case .identity: return x
        case .log(let base): return base.map { b in x.map { Foundation.log($0) / Foundation.log(b) } } ?? x.map { Foundation.log($0) }
        case .log2: return x.map { Foundation.log2($0) }
        case .log10: return x.map { Foundation.log10($0) }
        case .log1p: return x.map { Foundation.log1p($0) }
        case .exp: return x.map { Foundation.exp($0) }
        case .expm1: return x.map { Foundation.expm1($0) }
        case .sqrt: return x.map { $0.squareRoot() }
        case .abs: return x.map { Swift.abs($0) }
        case .sin: return x.map { Foundation.sin($0) }
        case .cos: return x.map { Foundation.cos($0) }
        case .tan: return x.map { Foundation.tan($0) }
        case .scale(let center, let scale):
            // R's scale(): centre by the mean; divide by sqrt(Σ x² / (n − 1)) of the (centred) values.
            let n = Double(x.count)
            let mean = center ? x.reduce(0, +) / n : 0
            let centred = x.map { $0 - mean }
            guard scale else { return centred }
            let sd = (centred.reduce(0) { $0 + $1 * $1 } / (n - 1)).squareRoot()
            return centred.map { $0 / sd }
        }
    }

    func text(argument: String) -> String {
        switch self {
        case .identity: return "I(\(argument))"
        case .log(let base): return base.map { "log(\(argument), \(rNumberText($0)))" } ?? "log(\(argument))"
        case .scale(let center, let scale):
            return "scale(\(argument)" + (center ? "" : ", center = FALSE") + (scale ? "" : ", scale = FALSE") + ")"
        default: return "\(self)(\(argument))"
        }
    }
}

/// What a term's variable is when it is not a bare column: a numeric expression (`log(conc)`,
/// `I(Days^2)`, `scale(x)`), R's orthogonal or raw polynomials (`poly(x, 2)`), or a numeric
/// column read as a factor (`factor(x)`).
public enum TermVariable: Sendable, Equatable {
    case value(ValueExpression)
    case polynomial(ValueExpression, degree: Int, raw: Bool)
    case factor(ValueExpression)

    /// The columns it reads.
    public var columns: [String] {
        switch self {
        case .value(let expression), .polynomial(let expression, _, _), .factor(let expression): return expression.columns
        }
    }

    /// The variable a call stands for in a term.
    init(call name: String, arguments: [FormulaExpression], position: Int, formula: String) throws {
        let call = try FunctionCall(name: name, arguments: arguments, position: position, formula: formula)
        switch name {
        case "poly":
            try call.require("a value and a degree, e.g. poly(x, 2) or poly(x, 2, raw = TRUE)", positional: ["x", "degree"], required: 2, named: ["raw"])
            guard let degree = try call.number("degree", at: 1), degree >= 1, degree == degree.rounded() else {
                throw call.error("poly()'s degree must be a whole number of at least 1")
            }
            self = .polynomial(try ValueExpression(call.positional[0], formula: formula), degree: Int(degree), raw: try call.logical("raw", at: 2, default: false))
        case "factor":
            try call.require("one column, e.g. factor(Days)", positional: ["x"], required: 1)
            self = .factor(try ValueExpression(call.positional[0], formula: formula))
        default:
            self = .value(try ValueExpression(.call(name, arguments, position: position), formula: formula))
        }
    }
}

/// A term variable evaluated on the rows used.
enum EvaluatedVariable {
    case column(Column)
    /// Several numeric columns named by the variable's label plus a suffix (`poly(x, 2)1`).
    case columns(suffixes: [String], values: [[Double]])
}

extension TermVariable {
    /// The values on the rows of `data`; a value that is not finite where its columns are (the
    /// log of a non-positive number, a division by zero) is an error naming the row, where R
    /// would carry NaN or Inf into the fit.
    func evaluate(on data: DataTable, label: String) throws -> EvaluatedVariable {
        switch self {
        case .value(let expression):
            return .column(.numeric(try expression.finiteValues(on: data, label: label)))
        case .factor(let expression):
            if let name = expression.columnName, case .categorical(let factor)? = data.column(name) { return .column(.categorical(factor)) }
            let values = try expression.finiteValues(on: data, label: label)
            let texts = values.map(rNumberText)
            let levels = Factor.sortLevels(Array(Set(texts)))
            let code = Dictionary(uniqueKeysWithValues: levels.enumerated().map { ($1, Int32($0)) })
            return .column(.categorical(Factor(levels: levels, codes: texts.map { code[$0]! })))
        case .polynomial(let expression, let degree, let raw):
            let x = try expression.finiteValues(on: data, label: label)
            let suffixes = (1...degree).map(String.init)
            if raw { return .columns(suffixes: suffixes, values: (1...degree).map { p in x.map { Foundation.pow($0, Double(p)) } }) }
            let distinct = Set(x).count
            guard degree < distinct else {
                throw DataError(file: data.source, column: label,
                                message: "\(label): the degree (\(degree)) must be less than the number of distinct values of \(expression) in the rows used (\(distinct)), as R's poly() requires",
                                fix: "lower the degree")
            }
            return .columns(suffixes: suffixes, values: OrthogonalPolynomials.basis(values: x, degree: degree))
        }
    }
}

extension ValueExpression {
    /// `evaluate(on:)`, with an error naming the first row whose value is not finite.
    func finiteValues(on data: DataTable, label: String) throws -> [Double] {
        let values = try evaluate(on: data)
        if let row = values.firstIndex(where: { !$0.isFinite }) {
            let line = data.line(ofRow: row)
            let inputs = try columns.map { "\($0) = \(rNumberText(try data.numericColumn($0)[row]))" }.joined(separator: ", ")
            throw DataError(file: data.source, line: line, column: label,
                            message: "\(label) is \(rNumberText(values[row])) at line \(line) (\(inputs)); R would carry that NaN or Inf into the fit",
                            fix: "correct or drop that row, or use a transformation defined there")
        }
        return values
    }
}

/// A number as R prints it with 15 significant digits (`2`, `0.5`, `1e+06`, `NaN`, `-Inf`).
func rNumberText(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value > 0 ? "Inf" : "-Inf" }
    return String(format: "%.15g", value)
}

extension FormulaExpression {
    /// The expression as R's `deparse` writes it, which is how R names a term's variable and
    /// its model-matrix columns: `log(conc)`, `I(x/2 + x * 3 - x^2)`, `poly(Days, 2)`,
    /// `scale(x, scale = FALSE)`, `a %in% b`; names that are not syntactic in backticks.
    var deparsed: String {
        switch self {
        case .variable(let name, _):
            return ["TRUE", "FALSE", "T", "F", "pi"].contains(name) ? name : ModelMatrix.rDisplayName(name)
        case .number(let value, _): return rNumberText(value)
        case .parenthesized(let inner, _): return "(" + inner.deparsed + ")"
        case .negate(let inner, _): return "-" + inner.deparsed
        case .named(let name, let value, _): return name + " = " + value.deparsed
        case .call(let name, let arguments, _): return name + "(" + arguments.map(\.deparsed).joined(separator: ", ") + ")"
        case .bar(let effects, let grouping, let uncorrelated, _):
            return "(" + effects.deparsed + (uncorrelated ? " || " : " | ") + grouping.deparsed + ")"
        case .binary(let op, let left, let right, _):
            let symbol: String
            switch op {
            case .plus: symbol = " + "
            case .minus: symbol = " - "
            case .star: symbol = " * "
            case .slash: symbol = "/"
            case .colon: symbol = ":"
            case .caret: symbol = "^"
            case .within: symbol = " %in% "
            }
            return left.deparsed + symbol + right.deparsed
        }
    }
}
