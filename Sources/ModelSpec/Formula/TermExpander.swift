/// Expands formula syntax trees into terms with R's `terms()` algebra (see `Formula`).
struct TermExpander {
    let text: String
    /// The columns `.` stands for (the data's, less the response's); nil before the data is read.
    var dotColumns: [String]? = nil
    /// Variables that are calls (`log(conc)`, `poly(x, 2)`), by R's label, with the position of
    /// their first mention; filled while expanding.
    let definitions = Definitions()

    final class Definitions {
        var byLabel: [String: (variable: TermVariable, position: Int)] = [:]
        /// True when `.` was met without `dotColumns`.
        var sawDot = false
    }

    /// A set of terms plus what the expression says about the intercept: `true` after a `1`,
    /// `false` after a `0` or `- 1`, nil if it does not mention it.
    struct TermList {
        var terms: [[String]] = []
        var intercept: Bool?
    }

    /// The right side split at its top-level `+` / `-`: fixed pieces (with their sign), offsets and
    /// random terms. Random terms and offsets may only be added at this level.
    struct TopLevel {
        var fixed: [(sign: Int, expression: FormulaExpression)] = []
        var offsets: [ValueExpression] = []
        var random: [FormulaExpression] = []
    }

    private func error(_ message: String, at position: Int) -> FormulaError {
        FormulaError(formula: text, position: position, message: message)
    }

    func splitTopLevel(_ expression: FormulaExpression) throws -> TopLevel {
        var result = TopLevel()
        try split(expression, sign: 1, into: &result)
        return result
    }

    private func split(_ expression: FormulaExpression, sign: Int, into result: inout TopLevel) throws {
        switch expression {
        case .binary(.plus, let left, let right, _):
            try split(left, sign: sign, into: &result)
            try split(right, sign: sign, into: &result)
        case .binary(.minus, let left, let right, _):
            try split(left, sign: sign, into: &result)
            try split(right, sign: -sign, into: &result)
        case .negate(let inner, _):
            try split(inner, sign: -sign, into: &result)
        case .parenthesized(let inner, _):
            try split(inner, sign: sign, into: &result)
        case .bar(_, _, _, let position):
            guard sign > 0 else { throw error("a random-effects term cannot be removed with '-'", at: position) }
            result.random.append(expression)
        case .call(let name, let arguments, let position) where name == "offset":
            guard sign > 0 else { throw error("an offset cannot be removed with '-'", at: position) }
            guard arguments.count == 1 else {
                throw error("offset() takes one value, e.g. offset(log(exposure)); got \(arguments.count) arguments", at: position)
            }
            result.offsets.append(try ValueExpression(arguments[0], formula: text))
        default:
            result.fixed.append((sign, expression))
        }
    }

    /// Fixed terms from the top-level pieces, ordered as R orders them.
    func fixedTerms(_ pieces: [(sign: Int, expression: FormulaExpression)], responseColumns: [String]) throws -> (intercept: Bool, terms: [Interaction]) {
        var order = VariableOrder(dotColumns: dotColumns)
        responseColumns.forEach { order.register($0) }
        for piece in pieces { order.registerAll(in: piece.expression) }
        var list = TermList()
        for piece in pieces {
            let part = try evaluate(piece.expression, order: order)
            list = piece.sign > 0 ? plus(list, part) : minus(list, part)
        }
        return (list.intercept ?? true, sortedByDegree(list.terms))
    }

    /// One written random-effects term, expanded for `||` and `/`.
    func randomTerms(_ expression: FormulaExpression) throws -> [RandomTerm] {
        guard case .bar(let effectsExpression, let groupingExpression, let uncorrelated, let position) = expression else {
            return []
        }
        var order = VariableOrder(dotColumns: dotColumns)
        order.registerAll(in: effectsExpression)
        if let dot = Self.firstDot(in: effectsExpression) {
            throw error("'.' (all other columns) cannot stand in a random-effects term; name the effects", at: dot)
        }
        let list = try evaluate(effectsExpression, order: order)
        let intercept = list.intercept ?? true
        let effects = sortedByDegree(list.terms)
        if !intercept && effects.isEmpty {
            throw error("random-effects term has no effects; write (1 | group) for a random intercept", at: position)
        }
        let groupings = try self.groupings(groupingExpression)

        // lme4 expands `||` first, then `/` within each uncorrelated piece.
        var pieces: [(intercept: Bool, effects: [Interaction])] = []
        if uncorrelated {
            if intercept { pieces.append((true, [])) }
            pieces += effects.map { (false, [$0]) }
        } else {
            pieces = [(intercept, effects)]
        }
        return pieces.flatMap { piece in
            groupings.map { RandomTerm(intercept: piece.intercept, effects: piece.effects, grouping: $0.variables, groupingName: $0.name) }
        }
    }

    /// A grouping factor: its columns and lme4's name for it.
    private struct Grouping {
        var variables: [String]
        var name: String
        /// True for a `:` product, which R parenthesizes on the right of another `:`.
        var isProduct: Bool { variables.count > 1 }
    }

    /// Grouping factors of `a`, `a:b`, `a/b`, `a/b/c`, … As lme4's `findbars` expands them:
    /// `a/b` is `b:a` then `a` (inner factor first, in the name and in the order), `a/b/c` is
    /// `c:(b:a)`, `b:a`, `a`, so names and level labels (`a:A`) match lme4's.
    private func groupings(_ expression: FormulaExpression) throws -> [Grouping] {
        switch expression {
        case .variable(let name, _):
            return [Grouping(variables: [name], name: name)]
        case .parenthesized(let inner, _):
            return try groupings(inner)
        case .binary(.colon, let left, let right, let position):
            let (leftGroups, rightGroups) = (try groupings(left), try groupings(right))
            guard leftGroups.count == 1, rightGroups.count == 1 else {
                throw error("write nested grouping factors as a/b or a:b, not a mix inside ':'", at: position)
            }
            let variables = unique(leftGroups[0].variables + rightGroups[0].variables)
            return [Grouping(variables: variables, name: variables.joined(separator: ":"))]
        case .binary(.slash, let left, let right, _):
            let (outer, inner) = (try groupings(left), try groupings(right))
            let outerVariables = unique(outer.flatMap(\.variables))
            let outerName = outer[0].isProduct ? "(\(outer[0].name))" : outer[0].name
            return inner.map { Grouping(variables: unique($0.variables + outerVariables), name: $0.name + ":" + outerName) } + outer
        case .binary(.plus, _, _, let position):
            throw error("a random-effects term has one grouping factor; write crossed factors as (1 | a) + (1 | b)", at: position)
        default:
            throw error("expected a grouping factor (a column name, a:b or a/b) after '|'", at: expression.position)
        }
    }

    // MARK: - Term algebra

    private func evaluate(_ expression: FormulaExpression, order: VariableOrder) throws -> TermList {
        switch expression {
        case .variable(".", _):
            guard let dotColumns else {
                definitions.sawDot = true
                return TermList()
            }
            return TermList(terms: dotColumns.map { [$0] })
        case .variable(let name, _):
            return TermList(terms: [[name]])
        case .named(let name, _, let position):
            throw error("a named argument (\(name) = …) can only be given to a function", at: position)
        case .number(let value, let position):
            if value == 1 { return TermList(intercept: true) }
            if value == 0 { return TermList(intercept: false) }
            throw error("only 0 or 1 can stand alone as a term (0 removes the intercept, 1 keeps it)", at: position)
        case .parenthesized(let inner, _):
            return try evaluate(inner, order: order)
        case .negate(let inner, _):
            return minus(TermList(), try evaluate(inner, order: order))
        case .binary(.plus, let left, let right, _):
            let leftList = try evaluate(left, order: order)
            if case .negate(let negated, _) = right {
                return minus(leftList, try evaluate(negated, order: order))
            }
            return plus(leftList, try evaluate(right, order: order))
        case .binary(.minus, let left, let right, _):
            return minus(try evaluate(left, order: order), try evaluate(right, order: order))
        case .binary(.colon, let left, let right, let position), .binary(.within, let left, let right, let position):
            // `a %in% b` is the term `a:b`, as in R.
            let name = expression.isWithin ? "%in%" : ":"
            let (a, b) = (try factorsOnly(left, order: order, at: position, operatorName: name),
                          try factorsOnly(right, order: order, at: position, operatorName: name))
            return TermList(terms: interact(a, b, order: order))
        case .binary(.star, let left, let right, let position):
            let (a, b) = (try factorsOnly(left, order: order, at: position, operatorName: "*"),
                          try factorsOnly(right, order: order, at: position, operatorName: "*"))
            return TermList(terms: union(union(a, b), interact(a, b, order: order)))
        case .binary(.slash, let left, let right, let position):
            let (a, b) = (try factorsOnly(left, order: order, at: position, operatorName: "/"),
                          try factorsOnly(right, order: order, at: position, operatorName: "/"))
            let outer = [unique(a.flatMap { $0 })]
            return TermList(terms: union(a, interact(outer, b, order: order)))
        case .binary(.caret, let left, let right, let position):
            let base = try factorsOnly(left, order: order, at: position, operatorName: "^")
            guard case .number(let exponent, _) = right, exponent >= 1, exponent == exponent.rounded() else {
                throw error("expected a whole number (2, 3, …) after '^'; for the power of a value write I(x^2)", at: right.position)
            }
            // Each power adds the next degree; once no term is added (the degree exceeds the
            // number of variables) higher powers change nothing, so huge exponents stop early.
            var result = base
            var power = 1.0
            while power < exponent {
                let next = union(result, interact(result, base, order: order))
                if next.count == result.count { break }
                result = next
                power += 1
            }
            return TermList(terms: result)
        case .bar(_, _, _, let position):
            throw error("a random-effects term must be added to the formula with '+', not nested in an expression", at: position)
        case .call(let name, _, let position) where name == "offset":
            throw error("offset() must be added to the formula with '+', not nested in an expression", at: position)
        case .call(let name, let arguments, let position):
            let label = expression.deparsed
            let variable = try TermVariable(call: name, arguments: arguments, position: position, formula: text)
            if definitions.byLabel[label] == nil { definitions.byLabel[label] = (variable, position) }
            return TermList(terms: [[label]])
        }
    }

    /// The terms of an operand of `:`, `*`, `/` or `^`, which may not mention the intercept.
    private func factorsOnly(_ expression: FormulaExpression, order: VariableOrder, at position: Int, operatorName: String) throws -> [[String]] {
        let list = try evaluate(expression, order: order)
        if list.intercept != nil {
            throw error("0 or 1 cannot be an operand of '\(operatorName)'", at: expression.position)
        }
        return list.terms
    }

    private func plus(_ left: TermList, _ right: TermList) -> TermList {
        TermList(terms: union(left.terms, right.terms), intercept: right.intercept ?? left.intercept)
    }

    private func minus(_ left: TermList, _ right: TermList) -> TermList {
        let removed = Set(right.terms.map { Set($0) })
        return TermList(terms: left.terms.filter { !removed.contains(Set($0)) },
                        intercept: right.intercept.map { !$0 } ?? left.intercept)
    }

    /// Every left term with every right term (left-major, as R's `InteractTerms`), variables in
    /// formula order, repeats removed.
    private func interact(_ left: [[String]], _ right: [[String]], order: VariableOrder) -> [[String]] {
        var result: [[String]] = []
        for a in left { for b in right { result = union(result, [order.sorted(unique(a + b))]) } }
        return result
    }

    /// `left` followed by the terms of `right` not already in it (terms compared as sets).
    private func union(_ left: [[String]], _ right: [[String]]) -> [[String]] {
        var seen = Set(left.map { Set($0) })
        var result = left
        for term in right where seen.insert(Set(term)).inserted { result.append(term) }
        return result
    }

    /// R's order: by degree, otherwise as they appeared (a stable sort).
    private func sortedByDegree(_ terms: [[String]]) -> [Interaction] {
        terms.enumerated()
            .sorted { ($0.element.count, $0.offset) < ($1.element.count, $1.offset) }
            .map { Interaction(variables: $0.element) }
    }

    /// Position of a `.` outside function calls, if any.
    static func firstDot(in expression: FormulaExpression) -> Int? {
        switch expression {
        case .variable(".", let position): return position
        case .binary(_, let left, let right, _): return firstDot(in: left) ?? firstDot(in: right)
        case .negate(let inner, _), .parenthesized(let inner, _): return firstDot(in: inner)
        default: return nil
        }
    }

    private func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}

/// Variables numbered by first appearance, which is how R orders the variables inside a term.
struct VariableOrder {
    private var rank: [String: Int] = [:]
    /// What `.` stands for.
    var dotColumns: [String]? = nil

    init(dotColumns: [String]? = nil) {
        self.dotColumns = dotColumns
    }

    mutating func register(_ name: String) {
        if rank[name] == nil { rank[name] = rank.count }
    }

    mutating func registerAll(in expression: FormulaExpression) {
        switch expression {
        case .variable(".", _): dotColumns?.forEach { register($0) }
        case .variable(let name, _): register(name)
        case .number, .named: break
        case .binary(_, let left, let right, _):
            registerAll(in: left)
            registerAll(in: right)
        case .negate(let inner, _), .parenthesized(let inner, _): registerAll(in: inner)
        case .bar(let effects, let grouping, _, _):
            registerAll(in: effects)
            registerAll(in: grouping)
        case .call("offset", _, _): break
        // A call is one variable, named as R deparses it (`log(conc)`).
        case .call: register(expression.deparsed)
        }
    }

    func sorted(_ names: [String]) -> [String] {
        names.sorted { (rank[$0] ?? Int.max, $0) < (rank[$1] ?? Int.max, $1) }
    }
}
