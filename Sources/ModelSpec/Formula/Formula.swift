import Foundation

/// A parsed lme4 model formula, e.g. `Reaction ~ Days + (Days | Subject)`.
///
/// Terms are expanded as R's `terms()` and lme4 expand them, so names and order match lme4:
/// - fixed terms: `a*b` = `a + b + a:b`, `a/b` = `a + a:b`, `(a + b)^2` = `a + b + a:b`,
///   `a - b` removes `b`; duplicates removed; ordered by degree, then by appearance.
///   The variables inside a term are ordered by their first appearance in the formula (as R
///   does: `y ~ a + b:a` has the term `a:b`).
/// - the intercept is implicit; `0 +`, `+ 0` or `- 1` remove it, `1 +` restores it.
/// - `offset(o)` adds `o` (a column or an expression, `offset(log(exposure))`) to the linear
///   predictor with coefficient 1.
/// - a call is one variable named as R deparses it (`log(conc)`, `I(Days^2)`, `poly(Days, 2)`,
///   `scale(x)`, `factor(Days)`; `TermVariable`), in fixed and random terms alike; `a %in% b` is
///   `a:b`; `.` is every column of the data but the response's (fixed part only).
/// - `x^2` outside `I()` is R's formula power: the terms of `x` crossed with themselves, i.e.
///   `x` (a note says so); `I(x^2)` is the square.
/// - random terms, in the order written: `(x || g)` becomes `(1 | g) + (0 + x | g)` (one
///   uncorrelated term per effect, intercept first), then `(x | a/b)` becomes `(x | a) + (x | a:b)`.
public struct Formula: Sendable, Equatable {
    /// The text as given.
    public let source: String
    /// The response's name as lme4 prints it: the column, or the expression as written
    /// (`cbind(incidence, size - incidence)`); nil for a one-sided formula `~ x`.
    public let response: String?
    /// What the left of `~` evaluates: a column, an arithmetic expression, or binomial counts.
    public let responseTerm: ResponseTerm?
    /// False after `0 +`, `+ 0` or `- 1`.
    public let fixedIntercept: Bool
    /// Fixed-effects terms, expanded and ordered as R orders them.
    public let fixedTerms: [Interaction]
    /// The values in `offset(…)`, in the order written.
    public let offsets: [ValueExpression]
    /// Random-effects terms after expanding `||` and `/`, in the order written.
    public let randomTerms: [RandomTerm]

    /// Term variables that are calls, by R's label (`log(conc)`), with what they evaluate.
    public let definitions: [String: TermVariable]
    /// True when the formula has `.` and was parsed without the data's columns
    /// (`parse(_:columns:)` expands it).
    public let hasUnexpandedDot: Bool
    /// Things an lme4 user may not expect, said once (`x^2` outside `I()` means `x`).
    public let notes: [String]

    /// Byte offset of the first mention of each variable (function names excluded).
    let variablePositions: [String: Int]
    /// Every variable in order of first mention.
    public let variables: [String]

    /// Byte offset (0-based, in `source`) of the first mention of a variable, so later stages
    /// (unknown column, wrong type) can point at it.
    public func position(of variable: String) -> Int? {
        variablePositions[variable]
    }

    /// The names of all columns the fixed part, offsets, response and random terms use.
    /// (`variables` in first-mention order; useful for `DataTable.completeRows(in:)`.)
    public var columnsUsed: [String] { variables }

    /// The data columns a term variable reads: itself, or the columns of its expression.
    public func columns(of variable: String) -> [String] {
        definitions[variable]?.columns ?? [variable]
    }

    /// Grouping-factor columns (they must be read as categorical).
    public var groupingColumns: Set<String> {
        Set(randomTerms.flatMap(\.grouping))
    }

    /// Parses `text`; throws `FormulaError` pointing at the offending position. `columns`, the
    /// data's column names, is what `.` expands to (less the response's columns); without it a
    /// `.` is left for a second parse (`hasUnexpandedDot`).
    public static func parse(_ text: String, columns: [String]? = nil) throws -> Formula {
        var parser = try FormulaParser(text: text)
        let (responseExpression, termsExpression) = try parser.parseFormula()
        var expander = TermExpander(text: text)

        var response: String?
        var responseTerm: ResponseTerm?
        if let responseExpression {
            let term = try ResponseTerm(responseExpression, formula: text)
            responseTerm = term
            if case .value(let value) = term, let name = value.columnName {
                response = name
            } else {
                response = String(text[..<(text.firstIndex(of: "~") ?? text.endIndex)]).trimmingCharacters(in: .whitespaces)
            }
        }

        if let columns {
            let responseColumns = Set(responseTerm?.columns ?? [])
            expander.dotColumns = columns.filter { !responseColumns.contains($0) }
        }
        let pieces = try expander.splitTopLevel(termsExpression)
        let fixed = try expander.fixedTerms(pieces.fixed, responseColumns: responseTerm?.columns ?? [])
        let random = try pieces.random.flatMap { try expander.randomTerms($0) }

        // First mention of every variable, from the tokens (names followed by '(' are functions).
        var positions: [String: Int] = [:]
        var variables: [String] = []
        // Argument names (`raw =`), constants and `.` are not columns.
        let constants: Set<String> = ["TRUE", "FALSE", "T", "F", "pi", "."]
        for (index, token) in parser.tokens.enumerated() {
            guard case .identifier(let name) = token.kind, !constants.contains(name) else { continue }
            if index + 1 < parser.tokens.count, [.leftParen, .equals].contains(parser.tokens[index + 1].kind) { continue }
            if positions[name] == nil {
                positions[name] = token.start
                variables.append(name)
            }
        }
        for (label, definition) in expander.definitions.byLabel { positions[label] = definition.position }

        return Formula(source: text, response: response, responseTerm: responseTerm, fixedIntercept: fixed.intercept,
                       fixedTerms: fixed.terms, offsets: pieces.offsets, randomTerms: random,
                       definitions: expander.definitions.byLabel.mapValues(\.variable), hasUnexpandedDot: expander.definitions.sawDot,
                       notes: formulaPowerNotes(termsExpression), variablePositions: positions, variables: variables)
    }

    /// A note for each `x^k` outside `I()` whose base is a single variable: R reads it as the
    /// formula power, which is `x` itself.
    private static func formulaPowerNotes(_ expression: FormulaExpression) -> [String] {
        switch expression {
        case .binary(.caret, let base, let exponent, _):
            if case .variable(let name, _) = base {
                return ["\(name)^\(exponent.deparsed) outside I() is R's formula power and means \(name) itself; write I(\(name)^\(exponent.deparsed)) for the power of the values"]
            }
            return formulaPowerNotes(base)
        case .binary(_, let left, let right, _): return formulaPowerNotes(left) + formulaPowerNotes(right)
        case .negate(let inner, _), .parenthesized(let inner, _): return formulaPowerNotes(inner)
        case .bar(let effects, _, _, _): return formulaPowerNotes(effects)
        default: return []
        }
    }
}

/// A fixed or random-effects term: a product of variables (a main effect has one).
public struct Interaction: Sendable, Hashable {
    /// In the order R prints them (first appearance in the formula).
    public let variables: [String]
    /// R's label, e.g. `a:b`.
    public var name: String { variables.joined(separator: ":") }

    public init(variables: [String]) {
        self.variables = variables
    }

    public init(_ variables: String...) {
        self.variables = variables
    }
}

/// One random-effects term `(effects | grouping)` after expansion.
public struct RandomTerm: Sendable, Equatable {
    /// Implicit 1 unless `0 +` / `- 1` is written on the left of `|`.
    public let intercept: Bool
    /// Non-intercept effects of the left side, in R order (by degree, then appearance).
    public let effects: [Interaction]
    /// The grouping factor's columns; `["dept", "service"]` for `dept:service`.
    public let grouping: [String]
    /// The grouping factor as lme4 names it: `dept:service`; `b:a` for `a/b`, and `c:(b:a)`,
    /// `b:a`, `a` for `a/b/c` (lme4's `expandSlash` builds `c:(b:a)`, and R deparses the
    /// parentheses).
    public let groupingName: String

    public init(intercept: Bool, effects: [Interaction], grouping: [String], groupingName: String? = nil) {
        self.intercept = intercept
        self.effects = effects
        self.grouping = grouping
        self.groupingName = groupingName ?? grouping.joined(separator: ":")
    }
}
