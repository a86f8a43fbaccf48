import Foundation

/// The columns of a chain file and how a sampler state fills them (docs/chain-format.md,
/// "Columns of `mixmc sample`"):
///
///     lp__, b_<coef>…, sigma (Gaussian only), sd_<group>__<coef>…, cor_<group>__<coef1>__<coef2>…, r_<group>.<level>.<coef>…
///
/// - `b_` per column of X, in X's order; `sd_` per term (design order) and coefficient;
///   `cor_` per term with k ≥ 2 and pair (r, c), r < c, in brms's order (1-2, 1-3, 2-3, …).
/// - `r_<group>.<level index>.<coefficient index>`, 1-based, in Stan's column-major order (all
///   levels of coefficient 1, then of coefficient 2, …), so CmdStanPy and ArviZ rebuild an
///   ℓ x k array. Terms sharing a grouping factor (`(1 | g) + (0 + x | g)`) are one group whose
///   coefficients are numbered across the terms, as brms does.
///
/// Names: `(Intercept)` is `Intercept`; any other character outside `A–Z a–z 0–9 _` becomes `_`
/// (`Days:service1` → `Days_service1`, `batch:cask` → `batch_cask`), because Stan CSV readers
/// split names on `.` (array indices) and `:` (tuple components, CmdStan ≥ 2.33) and a `,` or
/// quote would break the CSV. A name that collides with an earlier one gets `_2`, `_3`, ….
/// `labels` (and `labelsJSON`) give every column's original lme4 names.
public struct OutputColumns: Sendable {
    /// What one column holds, in the model's own (lme4) names.
    public enum Label: Sendable, Equatable {
        case logDensity
        case fixed(coefficient: String)
        case sigma
        case standardDeviation(group: String, coefficient: String)
        case correlation(group: String, first: String, second: String)
        case groupLevel(group: String, level: String, coefficient: String)
    }

    /// One group-level variable `r_<name>`: the terms of one grouping factor.
    public struct Group: Sendable, Equatable {
        /// The grouping factor as lme4 prints it (`Subject`, `batch:cask`).
        public let groupingName: String
        /// The CSV-safe name after `r_` (unique among groups).
        public let columnName: String
        public let levels: [String]
        /// Coefficients in index order (1-based in column names).
        public let coefficients: [String]
        /// (term, coefficient within the term) for each coefficient index.
        let sources: [(term: Int, coefficient: Int)]

        public static func == (lhs: Group, rhs: Group) -> Bool {
            lhs.groupingName == rhs.groupingName && lhs.columnName == rhs.columnName
                && lhs.levels == rhs.levels && lhs.coefficients == rhs.coefficients
        }
    }

    public let names: [String]
    public let labels: [Label]
    public let groups: [Group]
    /// Index of the first `r_` column.
    public let groupLevelStart: Int

    let termSizes: [Int]
    /// Whether there is a `sigma` column: the family has a dispersion σ (Gaussian only).
    public let hasSigma: Bool

    public init(design: Design) {
        var names = ["lp__"]
        var labels: [Label] = [.logDensity]
        var used: Set<String> = ["lp__"]
        func add(_ name: String, _ label: Label) {
            var candidate = name
            var suffix = 2
            while used.contains(candidate) { candidate = "\(name)_\(suffix)"; suffix += 1 }
            used.insert(candidate)
            names.append(candidate)
            labels.append(label)
        }
        for coefficient in design.fixed.columnNames {
            add("b_" + Self.safeName(coefficient), .fixed(coefficient: coefficient))
        }
        hasSigma = design.family.hasDispersion
        if hasSigma { add("sigma", .sigma) }

        // Groups: terms keyed by grouping factor, in order of first appearance.
        var groupTerms: [(name: String, terms: [Int])] = []
        for (j, term) in design.terms.enumerated() {
            if let g = groupTerms.firstIndex(where: { $0.name == term.groupingName && design.terms[$0.terms[0]].levels == term.levels }) {
                groupTerms[g].terms.append(j)
            } else {
                groupTerms.append((term.groupingName, [j]))
            }
        }
        var groupNamesUsed: Set<String> = []
        var groups: [Group] = []
        for (name, terms) in groupTerms {
            var columnName = Self.safeName(name)
            var suffix = 2
            while groupNamesUsed.contains(columnName) { columnName = "\(Self.safeName(name))_\(suffix)"; suffix += 1 }
            groupNamesUsed.insert(columnName)
            var coefficients: [String] = []
            var sources: [(term: Int, coefficient: Int)] = []
            for j in terms {
                for (c, coefficient) in design.terms[j].coefficientNames.enumerated() {
                    coefficients.append(coefficient)
                    sources.append((j, c))
                }
            }
            groups.append(Group(groupingName: name, columnName: columnName, levels: design.terms[terms[0]].levels,
                                coefficients: coefficients, sources: sources))
        }
        let groupColumnName = Dictionary(groups.flatMap { group in
            group.sources.map { ($0.term, group.columnName) }
        }, uniquingKeysWith: { first, _ in first })

        for (j, term) in design.terms.enumerated() {
            for coefficient in term.coefficientNames {
                add("sd_\(groupColumnName[j]!)__\(Self.safeName(coefficient))",
                    .standardDeviation(group: term.groupingName, coefficient: coefficient))
            }
        }
        for (j, term) in design.terms.enumerated() where term.size > 1 {
            for (r, c) in Self.correlationPairs(order: term.size) {
                let first = term.coefficientNames[r], second = term.coefficientNames[c]
                add("cor_\(groupColumnName[j]!)__\(Self.safeName(first))__\(Self.safeName(second))",
                    .correlation(group: term.groupingName, first: first, second: second))
            }
        }
        let groupLevelStart = names.count
        for group in groups {
            for (c, coefficient) in group.coefficients.enumerated() {
                for (h, level) in group.levels.enumerated() {
                    // Group names are unique among groups and contain no '.', so these never collide.
                    names.append("r_\(group.columnName).\(h + 1).\(c + 1)")
                    labels.append(.groupLevel(group: group.groupingName, level: level, coefficient: coefficient))
                }
            }
        }
        self.names = names
        self.labels = labels
        self.groups = groups
        self.groupLevelStart = groupLevelStart
        termSizes = design.terms.map(\.size)
    }

    /// Pairs (r, c), r < c, 0-based, in brms's order: for c = 1, 2, …: r = 0 … c − 1.
    static func correlationPairs(order k: Int) -> [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        for c in 1..<k { for r in 0..<c { pairs.append((r, c)) } }
        return pairs
    }

    /// `(Intercept)` → `Intercept`; every character outside ASCII letters, digits and `_` → `_`.
    public static func safeName(_ name: String) -> String {
        if name == "(Intercept)" { return "Intercept" }
        let mapped = name.unicodeScalars.map { scalar -> Character in
            let v = scalar.value
            let ok = (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || v == 95
            return ok ? Character(scalar) : "_"
        }
        let result = String(mapped)
        return result.isEmpty ? "_" : result
    }

    /// One row in column order.
    ///
    /// - Parameters:
    ///   - logDensity: the value of `lp__`.
    ///   - beta: β in X's column order.
    ///   - sigma: σ; nil exactly when there is no `sigma` column (`hasSigma`).
    ///   - covariances: Σ_j per term, column-major k_j x k_j.
    ///   - randomEffects: b per term, level-major (coefficient c of level h at `h * k_j + c`).
    public func row(logDensity: Double, beta: [Double], sigma: Double?, covariances: [[Double]], randomEffects: [[Double]]) -> [Double] {
        precondition((sigma != nil) == hasSigma, "σ is given exactly when the family has one")
        var row = [Double]()
        row.reserveCapacity(names.count)
        row.append(logDensity)
        row.append(contentsOf: beta)
        if let sigma { row.append(sigma) }
        for (j, k) in termSizes.enumerated() {
            for c in 0..<k { row.append(covariances[j][c + c * k].squareRoot()) }
        }
        for (j, k) in termSizes.enumerated() where k > 1 {
            let s = covariances[j]
            for (r, c) in Self.correlationPairs(order: k) {
                row.append(s[r + c * k] / (s[r + r * k] * s[c + c * k]).squareRoot())
            }
        }
        for group in groups {
            for (term, c) in group.sources {
                let k = termSizes[term]
                let b = randomEffects[term]
                for h in 0..<group.levels.count { row.append(b[h * k + c]) }
            }
        }
        precondition(row.count == names.count)
        return row
    }

    /// The `labels.json` written beside the chains (docs/chain-format.md):
    ///
    ///     {"columns": {"b_Intercept": {"kind": "fixed", "coefficient": "(Intercept)"},
    ///                  "sd_Subject__Days": {"kind": "sd", "group": "Subject", "coefficient": "Days"},
    ///                  "cor_Subject__Intercept__Days": {"kind": "cor", "group": "Subject", "coefficients": ["(Intercept)", "Days"]},
    ///                  "r_Subject.1.2": {"kind": "r", "group": "Subject", "level": "308", "coefficient": "Days"}, …},
    ///      "groups": {"Subject": {"column": "r_Subject", "levels": ["308", …], "coefficients": ["(Intercept)", "Days"]}}}
    ///
    /// `lp__` and `sigma` have entries of kind `lp` and `sigma`. Keys are sorted by their UTF-8
    /// bytes (`r_Subject.10.1` before `r_Subject.2.1`), so the bytes depend on the model only.
    public func labelsJSON() throws -> Data {
        var columns: [String: LabelEntry] = [:]
        for (name, label) in zip(names, labels) {
            switch label {
            case .logDensity: columns[name] = LabelEntry(kind: "lp")
            case .fixed(let coefficient): columns[name] = LabelEntry(kind: "fixed", coefficient: coefficient)
            case .sigma: columns[name] = LabelEntry(kind: "sigma")
            case let .standardDeviation(group, coefficient):
                columns[name] = LabelEntry(kind: "sd", group: group, coefficient: coefficient)
            case let .correlation(group, first, second):
                columns[name] = LabelEntry(kind: "cor", group: group, coefficients: [first, second])
            case let .groupLevel(group, level, coefficient):
                columns[name] = LabelEntry(kind: "r", group: group, level: level, coefficient: coefficient)
            }
        }
        var groupEntries: [String: GroupEntry] = [:]
        for group in groups {
            groupEntries[group.groupingName] = GroupEntry(column: "r_" + group.columnName, levels: group.levels,
                                                          coefficients: group.coefficients)
        }
        // JSONEncoder rather than JSONSerialization: the same bytes, several times faster
        // (InstEval's 4,128 columns).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(LabelsFile(columns: columns, groups: groupEntries))
    }

    private struct LabelsFile: Encodable {
        let columns: [String: LabelEntry]
        let groups: [String: GroupEntry]
    }

    /// One column's entry; absent fields are left out.
    private struct LabelEntry: Encodable {
        var kind: String
        var group: String? = nil
        var level: String? = nil
        var coefficient: String? = nil
        var coefficients: [String]? = nil
    }

    private struct GroupEntry: Encodable {
        let column: String
        let levels: [String]
        let coefficients: [String]
    }

    /// Comment lines for a chain file's configuration block that state the `r_` index map
    /// (without `=`, which the readers take for a configuration key):
    ///
    ///     group-level effects r_<group>.<level>.<coefficient> (also in labels.json)
    ///     r_Subject: group Subject; coefficients 1 (Intercept) 2 Days
    ///     r_Subject levels: 1 308; 2 309; 3 310; …
    public func groupLevelComments() -> [String] {
        guard !groups.isEmpty else { return [] }
        var lines = ["group-level effects r_<group>.<level>.<coefficient> (also in labels.json)"]
        for group in groups {
            let coefficients = group.coefficients.enumerated().map { "\($0.offset + 1) \($0.element)" }.joined(separator: " ")
            lines.append("r_\(group.columnName): group \(group.groupingName); coefficients \(coefficients)")
            let levels = group.levels.enumerated().map { "\($0.offset + 1) \($0.element)" }.joined(separator: "; ")
            lines.append("r_\(group.columnName) levels: \(levels)")
        }
        return lines.map { $0.replacingOccurrences(of: "=", with: "_").replacingOccurrences(of: "\n", with: " ") }
    }
}
