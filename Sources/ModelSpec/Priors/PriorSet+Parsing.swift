import Foundation
import TOMLKit

extension PriorSet {
    /// Reads and validates a priors file (docs/priors.md) against `design`.
    ///
    /// - Throws: `PriorsError` when the file is missing or unreadable, or for any problem
    ///   `parse(text:source:design:)` reports.
    public static func load(path: String, design: Design) throws -> PriorSet {
        guard FileManager.default.fileExists(atPath: path) else {
            throw PriorsError(file: path, message: "no such file",
                              fix: "check the path; `priors` in model.toml is relative to the model directory")
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw PriorsError(file: path, message: "cannot read the file: \(error.localizedDescription)",
                              fix: "check that the file is readable UTF-8 text")
        }
        return try parse(text: text, source: path, design: design)
    }

    /// Parses and validates the text of a priors file against `design`. Entries the file does not
    /// give come from the file's own `default` entries when it has them, else from
    /// `defaults(for:)`.
    ///
    /// Precedence, most specific first: `[fixed]` coefficient › `[fixed] default` › data default;
    /// `[tau.G]` coefficient › `[tau.G] scale` › `[tau] default` › data default;
    /// `[correlation] G` › `[correlation] default` › 1.
    ///
    /// - Throws: `PriorsError` naming `source`, the line and the key path, for a TOML syntax error,
    ///   an unknown table, coefficient, grouping factor or key, a value of the wrong type, a
    ///   missing `sd`/`scale`/`eta`, a non-positive or non-finite number, an entry given twice, and
    ///   a correlation prior on a term with one coefficient. The first problem in file order wins.
    public static func parse(text: String, source: String, design: Design) throws -> PriorSet {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw PriorsError(file: source, line: error.source.begin.line, column: error.source.begin.column,
                              message: "TOML syntax error: \(error.description)",
                              fix: "check the line against TOML syntax (https://toml.io); quote keys that are not made of letters, digits, _ and -, as in \"(Intercept)\" or [tau.\"batch:cask\"]")
        } catch {
            throw PriorsError(file: source, message: "cannot parse the file as TOML: \(error)",
                              fix: "check the file against TOML syntax (https://toml.io)")
        }
        let reader = PriorsFileReader(source: source, lines: TOMLKeyLines(text: text), design: design)
        return try reader.read(root)
    }
}

/// Reads the tables of a parsed priors file into a `PriorSet`, with errors that point at the
/// entry's line. Internal to `PriorSet.parse`.
struct PriorsFileReader {
    let source: String
    let lines: TOMLKeyLines
    let design: Design

    static let tableNames = ["fixed", "sigma", "tau", "correlation"]

    func read(_ root: TOMLTable) throws -> PriorSet {
        var priors = PriorSet.defaults(for: design)
        for key in ordered(root, at: []) {
            let value = root[key]!
            switch key {
            case "fixed": try readFixed(table(value, at: [key], example: "[fixed] with entries like Days = { mean = 0, sd = 10 }"), into: &priors)
            case "sigma" where !design.family.hasDispersion:
                throw error(at: [key], "a \(design.family.kind.rawValue) model has no residual SD σ, so [sigma] sets nothing",
                            fix: "remove the [sigma] table (the \(design.family.kind.rawValue) variance is set by its mean)")
            case "sigma": try readSigma(table(value, at: [key], example: "[sigma] with scale = 10"), into: &priors)
            case "tau": try readTau(table(value, at: [key], example: "[tau] with default = { scale = 10 } or [tau.Group] tables"), into: &priors)
            case "correlation": try readCorrelation(table(value, at: [key], example: "[correlation] with default = { eta = 1 }"), into: &priors)
            default:
                throw error(at: [key], "unknown table '\(key)'; the tables are: \(Self.tableNames.joined(separator: ", "))",
                            fix: "rename it to one of those tables (see docs/priors.md)")
            }
        }
        return priors
    }

    // MARK: Sections

    func readFixed(_ fixed: TOMLTable, into priors: inout PriorSet) throws {
        let names = design.fixed.columnNames
        var fileDefault: NormalPrior?
        var given: [Int: (key: String, prior: NormalPrior)] = [:]
        for key in ordered(fixed, at: ["fixed"]) {
            let path = ["fixed", key]
            if key == "default" && !names.contains("default") {
                fileDefault = try normalPrior(fixed[key]!, at: path)
                continue
            }
            guard let j = Self.coefficientIndex(key, in: names) else {
                throw error(at: path, "unknown coefficient '\(key)'; the fixed-effects coefficients are: \(names.joined(separator: ", "))",
                            fix: "use one of those names (`Intercept` also names `(Intercept)`), or `default` for all of them")
            }
            if let earlier = given[j] {
                throw duplicate(at: path, key, earlier.key)
            }
            given[j] = (key, try normalPrior(fixed[key]!, at: path))
        }
        for j in names.indices {
            if let prior = given[j]?.prior ?? fileDefault { priors.fixed[j] = prior }
        }
    }

    func readSigma(_ sigma: TOMLTable, into priors: inout PriorSet) throws {
        for key in ordered(sigma, at: ["sigma"]) where key != "scale" {
            throw error(at: ["sigma", key], "unknown key '\(key)'; [sigma] has one key: scale",
                        fix: "write the half-Cauchy scale of σ as scale = 10")
        }
        guard let value = sigma["scale"] else {
            throw error(at: ["sigma"], "missing key 'scale'; σ ~ half-Cauchy(0, scale) needs its scale",
                        fix: "add scale = 10 (any positive number) under [sigma]")
        }
        priors.sigmaScale = try positive(value, at: ["sigma", "scale"], name: "scale")
    }

    func readTau(_ tau: TOMLTable, into priors: inout PriorSet) throws {
        let groups = groupNames
        var fileDefault: Double?
        var groupScales: [String: Double] = [:]
        var given: [Int: [Int: (key: String, scale: Double)]] = [:]   // term -> coefficient -> entry
        for group in ordered(tau, at: ["tau"]) {
            let groupPath = ["tau", group]
            if group == "default" && !groups.contains("default") {
                fileDefault = try scaleTable(tau[group]!, at: groupPath)
                continue
            }
            guard groups.contains(group) else {
                throw error(at: groupPath, "unknown grouping factor '\(group)'; the grouping factors are: \(groups.joined(separator: ", "))",
                            fix: "use one of those names (quote names with a colon: [tau.\"batch:cask\"]), or default = { scale = ... } for all of them")
            }
            let entries = try table(tau[group]!, at: groupPath, example: "[tau.\(Self.quoted(group))] with entries like \(exampleCoefficient(group)) = { scale = 10 }")
            let termIndices = design.terms.indices.filter { design.terms[$0].groupingName == group }
            let coefficients = termIndices.flatMap { design.terms[$0].coefficientNames }
            for key in ordered(entries, at: groupPath) {
                let path = groupPath + [key]
                if key == "scale" && !coefficients.contains("scale") {
                    groupScales[group] = try positive(entries[key]!, at: path, name: "scale")
                    continue
                }
                let matches = termIndices.compactMap { t in Self.coefficientIndex(key, in: design.terms[t].coefficientNames).map { (t, $0) } }
                guard !matches.isEmpty else {
                    throw error(at: path, "unknown coefficient '\(key)' of grouping factor '\(group)'; its coefficients are: \(coefficients.joined(separator: ", "))",
                                fix: "use one of those names (`Intercept` also names `(Intercept)`), or scale = ... for all of them")
                }
                let scale = try scaleTable(entries[key]!, at: path)
                for (t, k) in matches {
                    if let earlier = given[t]?[k] { throw duplicate(at: path, key, earlier.key) }
                    given[t, default: [:]][k] = (key, scale)
                }
            }
        }
        for (t, term) in design.terms.enumerated() {
            for k in 0..<term.size {
                if let scale = given[t]?[k]?.scale ?? groupScales[term.groupingName] ?? fileDefault {
                    priors.tauScales[t][k] = scale
                }
            }
        }
    }

    func readCorrelation(_ correlation: TOMLTable, into priors: inout PriorSet) throws {
        let groups = groupNames
        var fileDefault: Double?
        var given: [String: Double] = [:]
        for group in ordered(correlation, at: ["correlation"]) {
            let path = ["correlation", group]
            if group == "default" && !groups.contains("default") {
                fileDefault = try etaTable(correlation[group]!, at: path)
                continue
            }
            guard groups.contains(group) else {
                let correlated = Array(Set(design.terms.filter { $0.size > 1 }.map(\.groupingName)))
                let groupsWithCorrelation = groups.filter(correlated.contains)
                let choices = groupsWithCorrelation.isEmpty ? "none of the terms has a correlation" : "the grouping factors with a correlation are: \(groupsWithCorrelation.joined(separator: ", "))"
                throw error(at: path, "unknown grouping factor '\(group)'; the grouping factors are: \(groups.joined(separator: ", ")) (\(choices))",
                            fix: "use a grouping factor whose term has two or more coefficients, or default = { eta = ... } for all of them")
            }
            let terms = design.terms.filter { $0.groupingName == group }
            guard terms.contains(where: { $0.size > 1 }) else {
                let coefficients = terms.map { $0.coefficientNames.joined(separator: ", ") }.joined(separator: "; ")
                let which = terms.count == 1 ? "its term has a single coefficient" : "each of its terms has a single coefficient"
                throw error(at: path, "grouping factor '\(group)' has no correlation: \(which) (\(coefficients))",
                            fix: "remove this entry; an LKJ prior applies to a term with two or more coefficients, such as (Days | Subject)")
            }
            given[group] = try etaTable(correlation[group]!, at: path)
        }
        for (t, term) in design.terms.enumerated() where term.size > 1 {
            if let eta = given[term.groupingName] ?? fileDefault { priors.lkjEta[t] = eta }
        }
    }

    // MARK: Values

    /// `{ mean = m, sd = s }`; `mean` defaults to 0.
    func normalPrior(_ value: TOMLValueConvertible, at path: [String]) throws -> NormalPrior {
        let entry = try inlineTable(value, at: path, keys: ["mean", "sd"], example: "{ mean = 0, sd = 10 }", kind: "a normal prior")
        guard let sd = entry["sd"] else {
            throw error(at: path, "missing key 'sd'; a normal prior is { mean = ..., sd = ... } (mean defaults to 0)",
                        fix: "add sd, as in \(Self.quoted(path.last!)) = { mean = 0, sd = 10 }")
        }
        let mean = try entry["mean"].map { try number($0, at: path + ["mean"], name: "mean") } ?? 0
        return NormalPrior(mean: mean, sd: try positive(sd, at: path + ["sd"], name: "sd"))
    }

    /// `{ scale = s }`.
    func scaleTable(_ value: TOMLValueConvertible, at path: [String]) throws -> Double {
        let entry = try inlineTable(value, at: path, keys: ["scale"], example: "{ scale = 10 }", kind: "a half-Cauchy prior")
        guard let scale = entry["scale"] else {
            throw error(at: path, "missing key 'scale'; a half-Cauchy prior is { scale = ... }",
                        fix: "add scale, as in \(Self.quoted(path.last!)) = { scale = 10 }")
        }
        return try positive(scale, at: path + ["scale"], name: "scale")
    }

    /// `{ eta = η }`.
    func etaTable(_ value: TOMLValueConvertible, at path: [String]) throws -> Double {
        let entry = try inlineTable(value, at: path, keys: ["eta"], example: "{ eta = 2 }", kind: "an LKJ prior")
        guard let eta = entry["eta"] else {
            throw error(at: path, "missing key 'eta'; an LKJ prior is { eta = ... }",
                        fix: "add eta, as in \(Self.quoted(path.last!)) = { eta = 1 }")
        }
        return try positive(eta, at: path + ["eta"], name: "eta")
    }

    func inlineTable(_ value: TOMLValueConvertible, at path: [String], keys: [String], example: String, kind: String) throws -> TOMLTable {
        let entry = try table(value, at: path, example: "\(Self.quoted(path.last!)) = \(example)")
        for key in ordered(entry, at: path) where !keys.contains(key) {
            throw error(at: path + [key], "unknown key '\(key)'; \(kind) has keys: \(keys.joined(separator: ", "))",
                        fix: "write it as \(Self.quoted(path.last!)) = \(example)")
        }
        return entry
    }

    func table(_ value: TOMLValueConvertible, at path: [String], example: String) throws -> TOMLTable {
        guard let table = value.table else {
            throw error(at: path, "expected a table, not \(Self.typeName(value))", fix: "write \(example)")
        }
        return table
    }

    /// A finite number; TOML integers are accepted.
    func number(_ value: TOMLValueConvertible, at path: [String], name: String) throws -> Double {
        let number: Double
        if let integer = value.int {
            number = Double(integer)
        } else if let double = value.double {
            number = double
        } else if let text = value.string {
            throw error(at: path, "\(name) must be a number, not a string (\"\(text)\")",
                        fix: "write the number without quotes, as in \(name) = \(Double(text).map { PriorSet.format($0) } ?? "10")")
        } else {
            throw error(at: path, "\(name) must be a number, not \(Self.typeName(value))", fix: "write a number, as in \(name) = 10")
        }
        guard number.isFinite else {
            throw error(at: path, "\(name) must be finite; got \(number)", fix: "write a finite number, as in \(name) = 10")
        }
        return number
    }

    static let smallestPositive = 1e-100
    static let largestPositive = 1e100

    func positive(_ value: TOMLValueConvertible, at path: [String], name: String) throws -> Double {
        let result = try number(value, at: path, name: name)
        guard result > 0 else {
            throw error(at: path, "\(name) must be positive; got \(PriorSet.format(result))", fix: "write a positive number, as in \(name) = 10")
        }
        // Beyond these the prior's density under- or overflows in double precision (a half-Cauchy
        // scale of 1e-300 crashed the slice sampler; issue 12, item 5).
        guard result >= Self.smallestPositive && result <= Self.largestPositive else {
            throw error(at: path, "\(name) must be between 1e-100 and 1e100; got \(PriorSet.format(result))",
                        fix: "write the \(name) in the data's units, as in \(name) = 10")
        }
        return result
    }

    // MARK: Helpers

    /// Grouping factor names in design order, each once.
    var groupNames: [String] {
        var names: [String] = []
        for term in design.terms where !names.contains(term.groupingName) { names.append(term.groupingName) }
        return names
    }

    func exampleCoefficient(_ group: String) -> String {
        let name = design.terms.first { $0.groupingName == group }?.coefficientNames.last ?? "Intercept"
        return name == PriorSet.interceptName ? "Intercept" : Self.quoted(name)
    }

    /// A table's keys in the order they are written (by line, then name).
    func ordered(_ table: TOMLTable, at path: [String]) -> [String] {
        table.keys.sorted { a, b in
            let lineA = lines.exactLine(of: path + [a]) ?? Int.max
            let lineB = lines.exactLine(of: path + [b]) ?? Int.max
            return lineA != lineB ? lineA < lineB : a < b
        }
    }

    /// The index of coefficient `key` among `names`; `Intercept` also names `(Intercept)`.
    static func coefficientIndex(_ key: String, in names: [String]) -> Int? {
        if let index = names.firstIndex(of: key) { return index }
        if key == "Intercept" { return names.firstIndex(of: PriorSet.interceptName) }
        return nil
    }

    func error(at path: [String], _ message: String, fix: String) -> PriorsError {
        PriorsError(file: source, line: lines.line(of: path), keyPath: Self.keyPath(path), message: message, fix: fix)
    }

    func duplicate(at path: [String], _ key: String, _ earlier: String) -> PriorsError {
        error(at: path, "'\(key)' and '\(earlier)' name the same coefficient", fix: "give its prior once")
    }

    /// A key path as TOML writes it: `tau.Subject.Days`, `fixed."(Intercept)"`.
    static func keyPath(_ path: [String]) -> String {
        path.map(quoted).joined(separator: ".")
    }

    /// A key as TOML writes it: bare when it is made of letters, digits, `_` and `-`, else quoted.
    static func quoted(_ key: String) -> String {
        let bare = !key.isEmpty && key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        if bare { return key }
        return "\"" + key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func typeName(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .table: return "a table"
        case .array: return "an array"
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a number"
        case .bool: return "a boolean"
        case .date: return "a date"
        case .time: return "a time"
        case .dateTime: return "a date-time"
        }
    }
}
