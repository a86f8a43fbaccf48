import Testing
@testable import ModelSpec

/// A one-line rendering of a parsed formula's structure, so table rows stay readable:
/// `response ~ intercept, fixed terms | offsets | random terms` with random terms printed the
/// way lme4 writes them after expansion.
private func structure(_ formula: Formula) -> String {
    let fixed = ([formula.fixedIntercept ? "1" : "0"] + formula.fixedTerms.map(\.name)).joined(separator: " + ")
    let random = formula.randomTerms.map { term in
        let left = ([term.intercept ? "1" : "0"] + term.effects.map(\.name)).joined(separator: " + ")
        return "(\(left) | \(term.groupingName))"
    }
    var text = "\(formula.response ?? "") ~ \(fixed)"
    if !formula.offsets.isEmpty { text += " offsets: " + formula.offsets.map(\.description).joined(separator: ", ") }
    if !random.isEmpty { text += " random: " + random.joined(separator: " ") }
    return text
}

@Suite struct FormulaParsingTests {
    static let cases: [(String, String)] = [
        ("y ~ x1 + x2", "y ~ 1 + x1 + x2"),
        ("y ~ 1", "y ~ 1"),
        ("~ x", " ~ 1 + x"),
        ("y ~ a*b", "y ~ 1 + a + b + a:b"),
        ("y ~ a:b", "y ~ 1 + a:b"),
        ("y ~ a:b + a", "y ~ 1 + a + a:b"),
        ("y ~ a + b:a", "y ~ 1 + a + a:b"),
        ("y ~ a*b*c", "y ~ 1 + a + b + c + a:b + a:c + b:c + a:b:c"),
        ("y ~ (a + b + c)^2", "y ~ 1 + a + b + c + a:b + a:c + b:c"),
        ("y ~ a/b", "y ~ 1 + a + a:b"),
        ("y ~ a + a + a:a", "y ~ 1 + a"),
        ("y ~ a*b - a:b", "y ~ 1 + a + b"),
        ("y ~ 0 + x", "y ~ 0 + x"),
        ("y ~ x + 0", "y ~ 0 + x"),
        ("y ~ x - 1", "y ~ 0 + x"),
        ("y ~ -1 + x", "y ~ 0 + x"),
        ("y ~ 1 + x", "y ~ 1 + x"),
        ("y ~ 0 + x + 1", "y ~ 1 + x"),
        ("y ~ x + offset(o)", "y ~ 1 + x offsets: o"),
        ("y ~ `my var` + `a:b`", "y ~ 1 + my var + a:b"),
        ("y.2 ~ x_1 + .z", "y.2 ~ 1 + x_1 + .z"),
        ("Reaction ~ Days + (Days | Subject)", "Reaction ~ 1 + Days random: (1 + Days | Subject)"),
        ("y ~ (1 | g)", "y ~ 1 random: (1 | g)"),
        ("y ~ (x | g)", "y ~ 1 random: (1 + x | g)"),
        ("y ~ (1 + x | g)", "y ~ 1 random: (1 + x | g)"),
        ("y ~ (0 + x | g)", "y ~ 1 random: (0 + x | g)"),
        ("y ~ (x - 1 | g)", "y ~ 1 random: (0 + x | g)"),
        ("y ~ (x || g)", "y ~ 1 random: (1 | g) (0 + x | g)"),
        ("y ~ (x + z || g)", "y ~ 1 random: (1 | g) (0 + x | g) (0 + z | g)"),
        ("y ~ (0 + x || g)", "y ~ 1 random: (0 + x | g)"),
        ("y ~ (1 | g1/g2)", "y ~ 1 random: (1 | g2:g1) (1 | g1)"),
        ("y ~ (x | a/b/c)", "y ~ 1 random: (1 + x | c:(b:a)) (1 + x | b:a) (1 + x | a)"),
        ("y ~ (x || a/b)", "y ~ 1 random: (1 | b:a) (1 | a) (0 + x | b:a) (0 + x | a)"),
        ("y ~ (1 | g1:g2)", "y ~ 1 random: (1 | g1:g2)"),
        ("y ~ x + (1 | g1) + (1 | g2)", "y ~ 1 + x random: (1 | g1) (1 | g2)"),
        ("y ~ service + (1 | s) + (1 | d) + (1 | dept:service)",
         "y ~ 1 + service random: (1 | s) (1 | d) (1 | dept:service)"),
        ("y ~ (x*z | g)", "y ~ 1 random: (1 + x + z + x:z | g)"),
        ("y ~ x + ((1 | g))", "y ~ 1 + x random: (1 | g)"),
        ("  y~x+(1|g)  ", "y ~ 1 + x random: (1 | g)"),
        // Calls are variables named as R deparses them.
        ("y ~ log(x) + I(x^2) + I(x/2 + x*3)", "y ~ 1 + log(x) + I(x^2) + I(x/2 + x * 3)"),
        ("y ~ poly(x, 2) + poly(z, 3, raw = TRUE) + scale(w, scale = FALSE)",
         "y ~ 1 + poly(x, 2) + poly(z, 3, raw = TRUE) + scale(w, scale = FALSE)"),
        ("y ~ factor(d) * log(x, 2)", "y ~ 1 + factor(d) + log(x, 2) + factor(d):log(x, 2)"),
        ("log(y) ~ x + offset(log(e))", "log(y) ~ 1 + x offsets: log(e)"),
        ("y ~ (poly(x, 2) | g) + (0 + I(x - 4.5) || h)", "y ~ 1 random: (1 + poly(x, 2) | g) (0 + I(x - 4.5) | h)"),
        ("y ~ a + b %in% a", "y ~ 1 + a + a:b"),
        ("y ~ x^2", "y ~ 1 + x"),
        ("y ~ I(-x) + exp(-x/5) + sqrt(x)^2", "y ~ 1 + I(-x) + exp(-x/5) + sqrt(x)"),
    ]

    @Test func dotIsEveryOtherColumn() throws {
        let formula = try Formula.parse("y ~ . - b + (1 | g)", columns: ["y", "a", "b", "g"])
        #expect(structure(formula) == "y ~ 1 + a + g random: (1 | g)")
        #expect(try Formula.parse("y ~ . + (1 | g)").hasUnexpandedDot)
        #expect(try Formula.parse("y ~ x^2 + (1 | g)").notes == ["x^2 outside I() is R's formula power and means x itself; write I(x^2) for the power of the values"])
    }

    @Test(arguments: cases)
    func parsesStructure(text: String, expected: String) throws {
        let formula = try Formula.parse(text)
        #expect(structure(formula) == expected)
        #expect(formula.source == text)
    }

    @Test func positionsOfVariables() throws {
        let formula = try Formula.parse("Reaction ~ Days + (Days | Subject) + offset(o)")
        #expect(formula.position(of: "Reaction") == 0)
        #expect(formula.position(of: "Days") == 11)
        #expect(formula.position(of: "Subject") == 26)
        #expect(formula.position(of: "o") == 44)
        #expect(formula.position(of: "offset") == nil)
        #expect(formula.variables == ["Reaction", "Days", "Subject", "o"])
        #expect(formula.groupingColumns == ["Subject"])
    }

    @Test func backtickPositionPointsAtTheQuote() throws {
        let formula = try Formula.parse("y ~ `a b`")
        #expect(formula.position(of: "a b") == 4)
        #expect(formula.fixedTerms == [Interaction("a b")])
    }
}

@Suite struct FormulaErrorTests {
    /// (formula, expected description: message, formula, caret line).
    static let cases: [(String, String)] = [
        ("Reaction Days", """
            formula error: missing '~'; a formula reads 'response ~ terms', e.g. Reaction ~ Days + (Days | Subject)
              Reaction Days
                       ^
            """),
        ("Reaction ~ Days + (Days | Subject", """
            formula error: expected ')' to close '(' opened at column 19
              Reaction ~ Days + (Days | Subject
                                               ^
            """),
        ("y ~ x)", """
            formula error: unmatched ')'
              y ~ x)
                   ^
            """),
        ("y ~ x + + z", """
            formula error: empty term: expected a term between '+' and '+'
              y ~ x + + z
                      ^
            """),
        ("y ~ x +", """
            formula error: expected a term after the trailing '+'
              y ~ x +
                     ^
            """),
        ("y ~ x | g", """
            formula error: '|' outside parentheses; write a random-effects term as (effects | group)
              y ~ x | g
                    ^
            """),
        ("y ~ (1 | )", """
            formula error: missing grouping factor after '|'
              y ~ (1 | )
                       ^
            """),
        ("y ~ foo(x)", """
            formula error: unknown function 'foo'; the functions are: I, log, log2, log10, log1p, exp, expm1, sqrt, abs, sin, cos, tan, scale, poly, factor, offset (and cbind in a binomial response)
              y ~ foo(x)
                  ^
            """),
        ("y ~ poly(x)", """
            formula error: poly() takes a value and a degree, e.g. poly(x, 2) or poly(x, 2, raw = TRUE); got 1 argument
              y ~ poly(x)
                  ^
            """),
        ("y ~ x + log(x, 2, 3)", """
            formula error: log() takes a value and an optional base, e.g. log(x) or log(x, 2); got 3 arguments
              y ~ x + log(x, 2, 3)
                      ^
            """),
        ("y ~ a %o% b", """
            formula error: unknown operator '%o%'; the formula operators are + - * / : ^ %in% | ||
              y ~ a %o% b
                    ^
            """),
        ("y ~", """
            formula error: expected terms after '~' (use 1 for an intercept-only model)
              y ~
                 ^
            """),
        ("y ~ x ~ z", """
            formula error: a formula has only one '~'
              y ~ x ~ z
                    ^
            """),
        ("y ~ x $ z", """
            formula error: unexpected character '$'; quote unusual column names with backticks, e.g. `my name`
              y ~ x $ z
                    ^
            """),
        ("y ~ `x", """
            formula error: unclosed backtick: a quoted name ends with '`'
              y ~ `x
                  ^
            """),
        ("y ~ x z", """
            formula error: expected an operator (+, -, *, :, /) before 'z'
              y ~ x z
                    ^
            """),
        ("y ~ ( | g)", """
            formula error: expected the random effects before '|', e.g. (1 | group)
              y ~ ( | g)
                    ^
            """),
        ("y ~ (0 | g)", """
            formula error: random-effects term has no effects; write (1 | group) for a random intercept
              y ~ (0 | g)
                  ^
            """),
        ("y ~ (1 | a + b)", """
            formula error: a random-effects term has one grouping factor; write crossed factors as (1 | a) + (1 | b)
              y ~ (1 | a + b)
                         ^
            """),
        ("y ~ x:(1 | g)", """
            formula error: a random-effects term must be added to the formula with '+', not nested in an expression
              y ~ x:(1 | g)
                    ^
            """),
        ("y ~ 2 + x", """
            formula error: only 0 or 1 can stand alone as a term (0 removes the intercept, 1 keeps it)
              y ~ 2 + x
                  ^
            """),
        ("poly(y, 2) ~ x", """
            formula error: poly() makes several columns; it can be a term of its own, not part of arithmetic or a response
              poly(y, 2) ~ x
              ^
            """),
        ("y ~ offset(a, b)", """
            formula error: offset() takes one value, e.g. offset(log(exposure)); got 2 arguments
              y ~ offset(a, b)
                  ^
            """),
        ("y ~ (a + b)^x", """
            formula error: expected a whole number (2, 3, …) after '^'; for the power of a value write I(x^2)
              y ~ (a + b)^x
                          ^
            """),
        ("y ~ x - (1 | g)", """
            formula error: a random-effects term cannot be removed with '-'
              y ~ x - (1 | g)
                      ^
            """),
        ("y ~ ()", """
            formula error: empty parentheses; expected a term inside '( )'
              y ~ ()
                   ^
            """),
        ("y ~ x + (. | g)", """
            formula error: '.' (all other columns) cannot stand in a random-effects term; name the effects
              y ~ x + (. | g)
                       ^
            """),
        ("", """
            formula error: empty formula; a formula reads 'response ~ terms', e.g. Reaction ~ Days + (Days | Subject)
              
              ^
            """),
    ]

    @Test(arguments: cases)
    func reportsPositionAndFix(text: String, expected: String) {
        #expect(throws: FormulaError.self) { try Formula.parse(text) }
        do {
            _ = try Formula.parse(text)
        } catch let error as FormulaError {
            #expect(error.description == expected)
            #expect(error.formula == text)
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    /// Malformed input of every kind must end in a `FormulaError`, never a crash or a hang.
    @Test(arguments: [
        "(((", "~", "y ~ x^", "y ~ offset()", "y ~ (1|g) ~", "y ~ (1 || )", "y ~ x:", "y ~ :x", "y ~ 1.2.3",
        "y ~ (x | g | h)", "y ~ -offset(o)", "y ~ x * 0", "y ~ (1 | 2)", "y ~ ,",
        "y ~ f(", "y ~ x + 99999999999999999999999999", "y ~ x^0", "y ~ _x", "y ~ ``",
    ])
    func malformedFormulasThrow(text: String) {
        #expect(throws: FormulaError.self) { try Formula.parse(text) }
    }

    @Test func hugeExponentIsCheap() throws {
        let formula = try Formula.parse("y ~ (a + b)^1000000000000")
        #expect(formula.fixedTerms.map(\.name) == ["a", "b", "a:b"])
    }

    @Test func caretCountsCharactersNotBytes() {
        let error = FormulaError(formula: "y ~ é + (", position: 10, message: "m")
        #expect(error.description == "formula error: m\n  y ~ é + (\n           ^")
    }
}
