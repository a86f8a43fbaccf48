import Foundation

/// An arithmetic expression of columns evaluated row by row, as R evaluates a formula's response
/// (`size - incidence` inside `cbind(...)`), an offset (`offset(log(exposure))`) or a term
/// (`log(conc)`, `I(Days^2)`, `scale(x)`): numeric columns, numbers and `pi`, `+ - * / ^`, unary
/// minus, and the functions of `ValueFunction`.
public indirect enum ValueExpression: Sendable, Equatable {
    public enum Operator: Sendable, Equatable { case plus, minus, times, divide, power }

    case column(String, position: Int)
    case number(Double, position: Int)
    case binary(Operator, ValueExpression, ValueExpression, position: Int)
    case negate(ValueExpression, position: Int)
    /// A function applied to an expression (`log(x)`, `I(x^2)`, `scale(x)`); position of its name.
    case call(ValueFunction, ValueExpression, position: Int)

    /// Byte offset of the expression's first character in the formula.
    public var position: Int {
        switch self {
        case .column(_, let position), .number(_, let position), .negate(_, let position), .call(_, _, let position): return position
        case .binary(_, let left, _, _): return left.position
        }
    }

    /// The columns read, in order of first mention.
    public var columns: [String] {
        var names: [String] = []
        func visit(_ expression: ValueExpression) {
            switch expression {
            case .column(let name, _): if !names.contains(name) { names.append(name) }
            case .number: break
            case .binary(_, let left, let right, _): visit(left); visit(right)
            case .negate(let inner, _), .call(_, let inner, _): visit(inner)
            }
        }
        visit(self)
        return names
    }

    /// The expression's column name when it is a bare column.
    public var columnName: String? {
        if case .column(let name, _) = self { return name }
        return nil
    }

    /// The value on every row of `data` (numeric columns only; a categorical column is an error
    /// naming its first non-numeric cell, as `DataTable.numericColumn` reports it).
    public func evaluate(on data: DataTable) throws -> [Double] {
        switch self {
        case .column(let name, _):
            return try data.numericColumn(name)
        case .number(let value, _):
            return Array(repeating: value, count: data.rowCount)
        case .negate(let inner, _):
            return try inner.evaluate(on: data).map { -$0 }
        case .call(let function, let inner, _):
            return function.apply(to: try inner.evaluate(on: data))
        case .binary(let op, let left, let right, _):
            let a = try left.evaluate(on: data), b = try right.evaluate(on: data)
            switch op {
            case .plus: return zip(a, b).map { $0 + $1 }
            case .minus: return zip(a, b).map { $0 - $1 }
            case .times: return zip(a, b).map { $0 * $1 }
            case .divide: return zip(a, b).map { $0 / $1 }
            case .power: return zip(a, b).map { Foundation.pow($0, $1) }
            }
        }
    }
}

/// What stands left of `~`.
public enum ResponseTerm: Sendable, Equatable {
    /// A column or an arithmetic expression of columns.
    case value(ValueExpression)
    /// `cbind(successes, failures)` for a binomial response, each a column or an expression.
    case successesFailures(successes: ValueExpression, failures: ValueExpression, position: Int)

    /// The columns read, in order of first mention.
    public var columns: [String] {
        switch self {
        case .value(let expression): return expression.columns
        case .successesFailures(let successes, let failures, _):
            var names = successes.columns
            for name in failures.columns where !names.contains(name) { names.append(name) }
            return names
        }
    }
}

extension ValueExpression {
    /// The arithmetic subset of a parsed formula expression, with the functions of
    /// `ValueFunction`; anything else is a caret error listing what is supported.
    init(_ expression: FormulaExpression, formula: String) throws {
        func error(_ message: String, at position: Int) -> FormulaError {
            FormulaError(formula: formula, position: position, message: message)
        }
        switch expression {
        case .variable("pi", let position):
            self = .number(Double.pi, position: position)
        case .variable(let name, let position):
            self = .column(name, position: position)
        case .number(let value, let position):
            self = .number(value, position: position)
        case .parenthesized(let inner, _):
            self = try ValueExpression(inner, formula: formula)
        case .negate(let inner, let position):
            self = .negate(try ValueExpression(inner, formula: formula), position: position)
        case .binary(let op, let left, let right, let position):
            let arithmetic: Operator
            switch op {
            case .plus: arithmetic = .plus
            case .minus: arithmetic = .minus
            case .star: arithmetic = .times
            case .slash: arithmetic = .divide
            case .caret: arithmetic = .power
            case .colon, .within:
                throw error("'\(op == .colon ? ":" : "%in%")' (interaction) has no meaning in arithmetic; use +, -, *, / or ^ (inside I() in a term)", at: position)
            }
            self = .binary(arithmetic, try ValueExpression(left, formula: formula), try ValueExpression(right, formula: formula), position: position)
        case .bar(_, _, _, let position):
            throw error("a random-effects term cannot stand in an expression", at: position)
        case .named(let name, _, let position):
            throw error("a named argument (\(name) = …) can only be given to a function", at: position)
        case .call(let name, let arguments, let position):
            let parsed = try FunctionCall(name: name, arguments: arguments, position: position, formula: formula)
            guard let function = try ValueFunction(call: parsed) else {
                throw error("\(name)() makes several columns; it can be a term of its own, not part of arithmetic or a response", at: position)
            }
            self = .call(function, try ValueExpression(parsed.positional[0], formula: formula), position: position)
        }
    }
}

extension ResponseTerm {
    init(_ expression: FormulaExpression, formula: String) throws {
        if case .call("cbind", let arguments, let position) = expression {
            guard arguments.count == 2 else {
                throw FormulaError(formula: formula, position: position,
                                   message: "cbind() takes two arguments, successes and failures, e.g. cbind(incidence, size - incidence); got \(arguments.count)")
            }
            self = .successesFailures(successes: try ValueExpression(arguments[0], formula: formula),
                                      failures: try ValueExpression(arguments[1], formula: formula), position: position)
            return
        }
        self = .value(try ValueExpression(expression, formula: formula))
    }
}

extension ValueExpression: CustomStringConvertible {
    /// The expression as R deparses it (`size - incidence`).
    public var description: String { text(parentPrecedence: 0) }

    private func text(parentPrecedence: Int) -> String {
        switch self {
        case .column(let name, _): return name
        case .number(let value, _):
            return value == Double.pi ? "pi" : rNumberText(value)
        case .negate(let inner, _): return "-" + inner.text(parentPrecedence: 3)
        case .call(let function, let inner, _): return function.text(argument: inner.description)
        case .binary(let op, let left, let right, _):
            let (symbol, precedence): (String, Int)
            switch op {
            case .plus: (symbol, precedence) = (" + ", 1)
            case .minus: (symbol, precedence) = (" - ", 1)
            case .times: (symbol, precedence) = (" * ", 2)
            case .divide: (symbol, precedence) = ("/", 2)
            case .power: (symbol, precedence) = ("^", 4)
            }
            let body = left.text(parentPrecedence: precedence) + symbol + right.text(parentPrecedence: precedence + 1)
            return precedence < parentPrecedence ? "(" + body + ")" : body
        }
    }
}
