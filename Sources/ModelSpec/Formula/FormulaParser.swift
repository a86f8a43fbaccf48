/// The syntax tree of one side of a formula, before term expansion.
indirect enum FormulaExpression: Equatable {
    enum Operator: Equatable { case plus, minus, star, slash, colon, caret, within }

    case variable(String, position: Int)
    case number(Double, position: Int)
    case binary(Operator, FormulaExpression, FormulaExpression, position: Int)
    case negate(FormulaExpression, position: Int)
    case parenthesized(FormulaExpression, position: Int)
    /// `(effects | grouping)` or `(effects || grouping)`; position is that of the '('.
    case bar(effects: FormulaExpression, grouping: FormulaExpression, uncorrelated: Bool, position: Int)
    case call(String, [FormulaExpression], position: Int)
    /// `name = value`, only as an argument of a call (`scale(x, scale = FALSE)`).
    case named(String, FormulaExpression, position: Int)

    var isWithin: Bool {
        if case .binary(.within, _, _, _) = self { return true }
        return false
    }

    var position: Int {
        switch self {
        case .variable(_, let position), .number(_, let position), .binary(_, _, _, let position),
             .negate(_, let position), .parenthesized(_, let position), .bar(_, _, _, let position),
             .call(_, _, let position), .named(_, _, let position):
            return position
        }
    }
}

/// A recursive-descent parser with R's operator precedence, loosest first:
/// `~`, then `|` / `||` (only inside parentheses), binary `+ -`, `* /`, `%in%`, `:`, unary `-`,
/// `^` (right-associative; its right side may be signed, as in R).
struct FormulaParser {
    let text: String
    let tokens: [FormulaToken]
    var index = 0

    init(text: String) throws {
        self.text = text
        self.tokens = try FormulaLexer.tokens(of: text)
    }

    private var current: FormulaToken { tokens[index] }
    private var previous: FormulaToken? { index > 0 ? tokens[index - 1] : nil }

    @discardableResult
    private mutating func advance() -> FormulaToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func error(_ message: String, at position: Int) -> FormulaError {
        FormulaError(formula: text, position: position, message: message)
    }

    /// Parses `[response] ~ terms`.
    mutating func parseFormula() throws -> (response: FormulaExpression?, terms: FormulaExpression) {
        var response: FormulaExpression?
        if current.kind == .end {
            throw error("empty formula; a formula reads 'response ~ terms', e.g. Reaction ~ Days + (Days | Subject)", at: 0)
        }
        if current.kind != .tilde {
            response = try parseSum()
            try rejectTopLevelBar()
            guard current.kind == .tilde else {
                if current.kind == .rightParen { throw error("unmatched ')'", at: current.start) }
                throw error("missing '~'; a formula reads 'response ~ terms', e.g. Reaction ~ Days + (Days | Subject)", at: current.start)
            }
        }
        advance()
        if current.kind == .end {
            throw error("expected terms after '~' (use 1 for an intercept-only model)", at: current.start)
        }
        let terms = try parseSum()
        try rejectTopLevelBar()
        switch current.kind {
        case .end:
            return (response, terms)
        case .tilde:
            throw error("a formula has only one '~'", at: current.start)
        case .rightParen:
            throw error("unmatched ')'", at: current.start)
        case .comma:
            throw error("unexpected ',' outside a function call", at: current.start)
        default:
            throw error("expected an operator (+, -, *, :, /) before '\(current.spelling)'", at: current.start)
        }
    }

    private func rejectTopLevelBar() throws {
        if current.kind == .bar || current.kind == .doubleBar {
            throw error("'\(current.spelling)' outside parentheses; write a random-effects term as (effects \(current.spelling) group)", at: current.start)
        }
    }

    private mutating func parseSum() throws -> FormulaExpression {
        try parseLeftAssociative([(.plus, .plus), (.minus, .minus)]) { try $0.parseProduct() }
    }

    private mutating func parseProduct() throws -> FormulaExpression {
        try parseLeftAssociative([(.star, .star), (.slash, .slash)]) { try $0.parseWithin() }
    }

    private mutating func parseWithin() throws -> FormulaExpression {
        try parseLeftAssociative([(.within, .within)]) { try $0.parseInteraction() }
    }

    private mutating func parseInteraction() throws -> FormulaExpression {
        try parseLeftAssociative([(.colon, .colon)]) { try $0.parseUnary() }
    }

    /// `operand (op operand)*` for one precedence level, grouped to the left.
    private mutating func parseLeftAssociative(_ operators: [(FormulaToken.Kind, FormulaExpression.Operator)],
                                               operand: (inout FormulaParser) throws -> FormulaExpression) throws -> FormulaExpression {
        var left = try operand(&self)
        while let match = operators.first(where: { $0.0 == current.kind }) {
            let operatorToken = advance()
            let right = try operand(&self)
            left = .binary(match.1, left, right, position: operatorToken.start)
        }
        return left
    }

    private mutating func parseUnary() throws -> FormulaExpression {
        if current.kind == .minus {
            let minus = advance()
            return .negate(try parseUnary(), position: minus.start)
        }
        return try parsePower()
    }

    private mutating func parsePower() throws -> FormulaExpression {
        let base = try parsePrimary()
        guard current.kind == .caret else { return base }
        let caret = advance()
        if [.end, .rightParen, .comma, .plus, .star, .slash, .colon, .caret, .tilde].contains(current.kind) {
            throw error("expected a whole number (2, 3, …) after '^'", at: current.start)
        }
        // Right-associative, and the exponent may be signed: x^-1, x^2^3 = x^(2^3).
        return .binary(.caret, base, try parseUnary(), position: caret.start)
    }

    private mutating func parsePrimary() throws -> FormulaExpression {
        let token = current
        switch token.kind {
        case .identifier(let name):
            advance()
            if current.kind == .leftParen { return try parseCall(name: name, at: token.start) }
            return .variable(name, position: token.start)
        case .number(let value):
            advance()
            return .number(value, position: token.start)
        case .leftParen:
            return try parseParenthesized()
        default:
            throw missingTerm()
        }
    }

    /// The error for a place where a term should start but does not.
    private func missingTerm() -> FormulaError {
        let here = current
        guard let before = previous else {
            return error("expected a term before '\(here.spelling)'", at: here.start)
        }
        if here.kind == .end {
            return error("expected a term after the trailing '\(before.spelling)'", at: here.start)
        }
        if before.kind == .leftParen && here.kind == .rightParen {
            return error("empty parentheses; expected a term inside '( )'", at: here.start)
        }
        if before.kind == .leftParen && (here.kind == .bar || here.kind == .doubleBar) {
            return error("expected the random effects before '\(here.spelling)', e.g. (1 \(here.spelling) group)", at: here.start)
        }
        if before.kind == .bar || before.kind == .doubleBar {
            return error("missing grouping factor after '\(before.spelling)'", at: here.start)
        }
        return error("empty term: expected a term between '\(before.spelling)' and '\(here.spelling)'", at: here.start)
    }

    private func unclosed(_ open: FormulaToken, what: String) -> FormulaError {
        let column = FormulaError.column(of: open.start, in: text)
        let found = current.kind == .end ? "" : ", found '\(current.spelling)'"
        return error("expected ')' to close '(' \(what)opened at column \(column)\(found)", at: current.start)
    }

    private mutating func parseParenthesized() throws -> FormulaExpression {
        let open = advance()
        let inner = try parseSum()
        var expression = FormulaExpression.parenthesized(inner, position: open.start)
        if current.kind == .bar || current.kind == .doubleBar {
            let bar = advance()
            if current.kind == .rightParen || current.kind == .end {
                throw error("missing grouping factor after '\(bar.spelling)'", at: current.start)
            }
            let grouping = try parseSum()
            if current.kind == .bar || current.kind == .doubleBar {
                throw error("a random-effects term has one '|'; write crossed terms as (1 | a) + (1 | b)", at: current.start)
            }
            expression = .bar(effects: inner, grouping: grouping, uncorrelated: bar.kind == .doubleBar, position: open.start)
        }
        guard current.kind == .rightParen else { throw unclosed(open, what: "") }
        advance()
        return expression
    }

    private mutating func parseCall(name: String, at position: Int) throws -> FormulaExpression {
        let open = advance()
        var arguments: [FormulaExpression] = []
        if current.kind != .rightParen {
            arguments.append(try parseArgument())
            while current.kind == .comma {
                advance()
                arguments.append(try parseArgument())
            }
        }
        guard current.kind == .rightParen else { throw unclosed(open, what: "of \(name)() ") }
        advance()
        return .call(name, arguments, position: position)
    }

    /// A call argument: an expression, or `name = expression`.
    private mutating func parseArgument() throws -> FormulaExpression {
        if case .identifier(let name) = current.kind, tokens[index + 1].kind == .equals {
            let nameToken = advance()
            advance()
            return .named(name, try parseSum(), position: nameToken.start)
        }
        return try parseSum()
    }
}
