import Foundation

/// A function a formula may call, and the ones that make columns of their own (`poly`,
/// `factor`); the list every "unknown function" error prints.
enum FormulaFunctions {
    static let elementwise = ["log", "log2", "log10", "log1p", "exp", "expm1", "sqrt", "abs", "sin", "cos", "tan"]
    static let supported = "I, " + elementwise.joined(separator: ", ") + ", scale, poly, bs, ns, factor, offset (and cbind in a binomial response)"
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
        case "poly", "factor", "bs", "ns":
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
/// `I(Days^2)`, `scale(x)`), R's orthogonal or raw polynomials (`poly(x, 2)`), B-splines or
/// natural splines with `df` columns (`bs(x, df = 4)`, `ns(x, 3)`), or a numeric column read
/// as a factor (`factor(x)`).
public enum TermVariable: Sendable, Equatable {
    case value(ValueExpression)
    case polynomial(ValueExpression, degree: Int, raw: Bool)
    case spline(ValueExpression, df: Int, degree: Int, natural: Bool)
    case factor(ValueExpression)

    /// The columns it reads.
    public var columns: [String] {
        switch self {
        case .value(let expression), .polynomial(let expression, _, _), .spline(let expression, _, _, _), .factor(let expression):
            return expression.columns
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
        case "bs", "ns":
            let natural = name == "ns"
            try call.require(natural ? "a value and df, e.g. ns(x, df = 3)" : "a value, df and optionally degree, e.g. bs(x, df = 4) or bs(x, df = 5, degree = 2)",
                             positional: ["x", "df"], required: 2, named: natural ? [] : ["degree"])
            let degree = natural ? 3 : try call.number("degree", at: Int.max) ?? 3
            guard let df = try call.number("df", at: 1), df == df.rounded(), degree >= 1, degree == degree.rounded(), df >= (natural ? 1 : degree) else {
                throw call.error("\(name)()'s df must be a whole number of at least \(natural ? "1" : "the degree (\(Int(degree)))"); knots are placed as R places them from df")
            }
            self = .spline(try ValueExpression(call.positional[0], formula: formula), df: Int(df), degree: Int(degree), natural: natural)
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
        case .spline(let expression, let df, let degree, let natural):
            let x = try expression.finiteValues(on: data, label: label)
            let values = natural ? Splines.naturalSpline(x, df: df) : Splines.bSpline(x, df: df, degree: degree)
            return .columns(suffixes: (1...df).map(String.init), values: values)
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
            let (symbol, spaced) = op.rSymbol
            return left.deparsed + (spaced ? " \(symbol) " : symbol) + right.deparsed
        }
    }
}

/// R's `splines::bs` and `splines::ns` with `df` (inner knots at the type-7 quantiles of the
/// values, boundary knots at their range, no intercept column), computed as R's `splineDesign`
/// and, for `ns`, the QR projection onto zero second derivatives at the boundaries that R
/// takes with LINPACK's Householder reflections.
enum Splines {
    /// bs(x, df, degree): df columns.
    static func bSpline(_ x: [Double], df: Int, degree: Int) -> [[Double]] {
        let order = degree + 1
        let knots = augmentedKnots(x, innerCount: max(df - degree, 0), order: order)
        return Array(design(knots, x, order: order, derivative: 0).dropFirst())
    }

    /// ns(x, df): df columns.
    static func naturalSpline(_ x: [Double], df: Int) -> [[Double]] {
        let knots = augmentedKnots(x, innerCount: max(df - 1, 0), order: 4)
        let basis = Array(design(knots, x, order: 4, derivative: 0).dropFirst())
        let (low, high) = (x.min()!, x.max()!)
        // const = splineDesign(knots, range(x), 4, derivs = 2) without its first column; t(const) is m x 2.
        let constraint = Array(design(knots, [low, high], order: 4, derivative: 2).dropFirst())
        let m = constraint.count
        var columns = [[Double]](repeating: [Double](repeating: 0, count: m), count: 2)
        for j in 0..<m { columns[0][j] = constraint[j][0]; columns[1][j] = constraint[j][1] }
        let reflectors = householder(columns)
        // Each row of the basis, as a vector of length m, times Qᵀ; components 3…m kept.
        var result = [[Double]](repeating: [Double](repeating: 0, count: x.count), count: m - 2)
        for row in 0..<x.count {
            var y = basis.map { $0[row] }
            for (l, v) in reflectors.enumerated() {
                var dot = 0.0
                for i in l..<m { dot += v[i] * y[i] }
                let t = -dot / v[l]
                for i in l..<m { y[i] += t * v[i] }
            }
            for j in 2..<m { result[j - 2][row] = y[j] }
        }
        return result
    }

    /// LINPACK dqrdc's Householder vectors of the columns (no pivoting; full rank).
    private static func householder(_ input: [[Double]]) -> [[Double]] {
        var columns = input
        let n = columns[0].count
        var reflectors: [[Double]] = []
        for l in 0..<columns.count {
            var norm = 0.0
            for i in l..<n { norm += columns[l][i] * columns[l][i] }
            norm = norm.squareRoot()
            var v = [Double](repeating: 0, count: n)
            guard norm != 0 else { reflectors.append(v); continue }
            if columns[l][l] != 0 { norm = columns[l][l] < 0 ? -Swift.abs(norm) : Swift.abs(norm) }
            for i in l..<n { v[i] = columns[l][i] / norm }
            v[l] += 1
            for j in (l + 1)..<max(columns.count, l + 1) {
                var dot = 0.0
                for i in l..<n { dot += v[i] * columns[j][i] }
                let t = -dot / v[l]
                for i in l..<n { columns[j][i] += t * v[i] }
            }
            reflectors.append(v)
        }
        return reflectors
    }

    /// The boundary knots repeated `order` times around the inner knots at the type-7
    /// quantiles 1/(k+1), …, k/(k+1).
    private static func augmentedKnots(_ x: [Double], innerCount: Int, order: Int) -> [Double] {
        let sorted = x.sorted()
        let inner = (1...max(innerCount, 1)).prefix(innerCount).map { j -> Double in
            let h = Double(sorted.count - 1) * Double(j) / Double(innerCount + 1)
            let low = Int(h.rounded(.down))
            let high = min(low + 1, sorted.count - 1)
            return sorted[low] + (h - Double(low)) * (sorted[high] - sorted[low])
        }
        return Array(repeating: sorted.first!, count: order) + inner + Array(repeating: sorted.last!, count: order)
    }

    /// splineDesign(knots, x, order, derivs): one column per B-spline (knots.count − order).
    static func design(_ knots: [Double], _ x: [Double], order: Int, derivative: Int) -> [[Double]] {
        let count = knots.count - order
        let right = knots[knots.count - order]
        func value(_ i: Int, _ k: Int, _ t: Double, _ d: Int) -> Double {
            if d > 0 {
                let a = knots[i + k - 1] - knots[i], b = knots[i + k] - knots[i + 1]
                let first = a > 0 ? value(i, k - 1, t, d - 1) / a : 0
                let second = b > 0 ? value(i + 1, k - 1, t, d - 1) / b : 0
                return Double(k - 1) * (first - second)
            }
            if k == 1 {
                // Left-closed intervals; the right boundary belongs to the last non-empty one.
                if knots[i] <= t && t < knots[i + 1] { return 1 }
                return t == right && knots[i] < knots[i + 1] && knots[i + 1] == right ? 1 : 0
            }
            let a = knots[i + k - 1] - knots[i], b = knots[i + k] - knots[i + 1]
            let left = a > 0 ? (t - knots[i]) / a * value(i, k - 1, t, 0) : 0
            let rightPart = b > 0 ? (knots[i + k] - t) / b * value(i + 1, k - 1, t, 0) : 0
            return left + rightPart
        }
        return (0..<count).map { i in x.map { value(i, order, $0, derivative) } }
    }
}

/// The formula as lme4's summary prints it (`deparse(formula)`, after lme4's `expandDoubleVerts`
/// has turned `(x || g)` into `((1 | g) + (0 + x | g))`): R's spacing, and R's line breaks
/// (after a spaced operator once a line passes 60 characters, continuation lines indented).
struct FormulaDeparser {
    private(set) var lines: [String] = []
    private var current = ""
    private var indent = 0
    /// Term labels of the effects of a `||` term, with its intercept.
    let uncorrelatedPieces: (FormulaExpression) throws -> (intercept: Bool, labels: [String])

    init(uncorrelatedPieces: @escaping (FormulaExpression) throws -> (intercept: Bool, labels: [String])) {
        self.uncorrelatedPieces = uncorrelatedPieces
    }

    static let cutoff = 60

    mutating func finish() -> [String] {
        lines.append(current)
        return lines
    }

    private mutating func write(_ text: String) { current += text }

    /// R's `linebreak`: true when it broke the line (the caller undoes the indent after).
    private mutating func breakIfLong() -> Bool {
        guard current.count > Self.cutoff else { return false }
        indent += 1
        lines.append(current)
        current = (0..<indent).map { $0 < 4 ? "    " : "  " }.joined()
        return true
    }

    /// Writes ` op ` and breaks the line if it is long; pass the result to `close`.
    private mutating func open(_ op: String) -> Bool {
        write(" \(op) ")
        return breakIfLong()
    }

    private mutating func close(_ broke: Bool) {
        if broke { indent -= 1 }
    }

    mutating func emit(_ expression: FormulaExpression) throws {
        switch expression {
        case .variable, .number: write(expression.deparsed)
        case .parenthesized(let inner, _):
            write("(")
            try emit(inner)
            write(")")
        case .negate(let inner, _):
            write("-")
            try emit(inner)
        case .named(let name, let value, _):
            write(name + " = ")
            try emit(value)
        case .call(let name, let arguments, _):
            write(name + "(")
            for (index, argument) in arguments.enumerated() {
                if index > 0 {
                    write(", ")
                    _ = breakIfLong()
                }
                try emit(argument)
            }
            write(")")
        case .bar(let effects, let grouping, false, _):
            write("(")
            try emit(effects)
            let broke = open("|")
            try emit(grouping)
            close(broke)
            write(")")
        case .bar(let effects, let grouping, true, _):
            let (intercept, labels) = try uncorrelatedPieces(effects)
            let pieces = (intercept ? ["1"] : []) + labels.map { "0 + " + $0 }
            write("(")
            try emitSum(pieces[...], grouping: grouping)
            write(")")
        case .binary(let op, let left, let right, _):
            let (symbol, spaced) = op.rSymbol
            try emit(left)
            guard spaced else {
                write(symbol)
                return try emit(right)
            }
            let broke = open(symbol)
            try emit(right)
            close(broke)
        }
    }

    /// `(p1 | g) + (p2 | g) + …`, left-deep as R builds it.
    private mutating func emitSum(_ pieces: ArraySlice<String>, grouping: FormulaExpression) throws {
        guard let last = pieces.last else { return }
        var broke = false
        if pieces.count > 1 {
            try emitSum(pieces.dropLast(), grouping: grouping)
            broke = open("+")
        }
        write("(" + last)
        let inner = open("|")
        try emit(grouping)
        close(inner)
        write(")")
        close(broke)
    }

    /// The lines of `response ~ terms`.
    mutating func emitFormula(response: FormulaExpression?, terms: FormulaExpression) throws -> [String] {
        if let response {
            try emit(response)
            let broke = open("~")
            try emit(terms)
            close(broke)
        } else {
            write("~")
            try emit(terms)
        }
        return finish()
    }

    /// lme4's `.prt.call`: `cat("Formula:", lines, fill = TRUE)`, breaking before an item
    /// that would pass 80 characters.
    static func formulaLine(_ lines: [String]) -> String {
        var out = "Formula:"
        var width = out.count
        for item in lines {
            if width + 1 + item.count > 80 {
                out += " \n" + item
                width = item.count
            } else {
                out += " " + item
                width += 1 + item.count
            }
        }
        return out
    }
}

extension FormulaExpression.Operator {
    /// The operator as R deparses it, and whether R puts spaces around it (and may break a
    /// long line after it): `+ - * %in%` are spaced, `/ : ^` are not.
    var rSymbol: (text: String, spaced: Bool) {
        switch self {
        case .plus: return ("+", true)
        case .minus: return ("-", true)
        case .star: return ("*", true)
        case .within: return ("%in%", true)
        case .slash: return ("/", false)
        case .colon: return (":", false)
        case .caret: return ("^", false)
        }
    }
}
