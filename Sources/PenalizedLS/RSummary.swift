import Foundation

/// The blocks of lme4's `summary()` print-out (lme4 1.1-31, `digits = 4`), from its `.prt.*`
/// helpers, shared by the linear and generalized fits' summaries.
enum RSummary {
    static let digits = 4
    /// lme4's `getOption("lme4.summary.cor.max")`.
    static let correlationMaximum = 12

    /// The blocks from the scaled residuals to the correlation of fixed effects, shared by lmer's
    /// and glmer's summaries: residuals, random effects (with a `Residual` row when `residual` is
    /// given), the groups line, the fixed effects (with z tests and p-values when `pValues` is
    /// given) and their correlations.
    static func residualsEffectsAndCoefficients(residuals: [Double], components: [MixedModelFit.VarianceComponent], residual: Double?,
                                                randomEffects: [MixedModelFit.RandomEffects], observationCount: Int, rowsDropped: Int,
                                                fixedEffects: [MixedModelFit.FixedEffect], covariance: [[Double]], pValues: [Double]?) -> String {
        var out = scaledResiduals(residuals) + "\nRandom effects:\n"
        out += varianceComponents(components, residual: residual)
        out += groupsLine(observationCount: observationCount, randomEffects: randomEffects)
        if rowsDropped > 0 { out += "(\(rowsDropped) observation\(rowsDropped == 1 ? "" : "s") deleted due to missingness)\n" }
        out += "\nFixed effects:\n"
        out += coefficients(fixedEffects.map(\.name), estimates: fixedEffects.map(\.estimate), standardErrors: fixedEffects.map(\.standardError),
                            statistic: pValues == nil ? "t value" : "z value", pValues: pValues)
        return out + fixedEffectsCorrelation(names: fixedEffects.map(\.name), covariance: covariance)
    }

    /// A named vector as R's `print()` shows it: every entry right-justified to the widest
    /// name or value, each followed by a space.
    static func namedVector(names: [String], values: [String]) -> String {
        let width = (names + values).map(\.count).max() ?? 0
        func row(_ cells: [String]) -> String {
            cells.map { String(repeating: " ", count: width - $0.count) + $0 + " " }.joined() + "\n"
        }
        return row(names) + row(values)
    }

    /// `.prt.resids`: the type-7 quantiles, `zapsmall`ed to 5 digits, printed with 4.
    static func scaledResiduals(_ residuals: [Double]) -> String {
        let quantiles = RPrintFormat.zapsmall(typeSevenQuantiles(residuals, at: [0, 0.25, 0.5, 0.75, 1]), digits: digits + 1)
        return "Scaled residuals: \n" + namedVector(names: ["Min", "1Q", "Median", "3Q", "Max"],
                                                     values: RPrintFormat.format(quantiles, digits: digits))
    }

    /// lme4's `formatVC`: groups, names, variances and SDs each formatted as one column, and the
    /// correlations (rounded to 2 decimals, per term) only when some term has several effects.
    static func varianceComponents(_ components: [MixedModelFit.VarianceComponent], residual: Double?) -> String {
        var groups: [String] = [], names: [String] = [], sds: [Double] = []
        for component in components {
            for (index, name) in component.names.enumerated() {
                groups.append(index == 0 ? component.group : "")
                names.append(name)
                sds.append(component.standardDeviations[index])
            }
        }
        if let residual { groups.append("Residual"); names.append(""); sds.append(residual) }
        let variances = RPrintFormat.format(sds.map { $0 * $0 }, digits: digits)
        let deviations = RPrintFormat.format(sds, digits: digits)
        var header = ["Groups", "Name", "Variance", "Std.Dev."]
        var rows = groups.indices.map { [groups[$0], names[$0], variances[$0], deviations[$0]] }
        let widest = components.map(\.names.count).max() ?? 1
        if widest > 1 {
            header += ["Corr"] + Array(repeating: "", count: widest - 2)
            var row = 0
            for component in components {
                let k = component.names.count
                let cells = RPrintFormat.format(component.correlations.flatMap { $0 }.map { RPrintFormat.round($0, 2) }, digits: 7, nsmall: 2)
                for r in 0..<k {
                    rows[row] += (0..<(widest - 1)).map { c in c < r ? cells[r * k + c] : "" }
                    row += 1
                }
            }
            while row < rows.count { rows[row] += Array(repeating: "", count: widest - 1); row += 1 }
        }
        return RPrintFormat.matrix(rowNames: rows.map { _ in "" }, header: header, rows: rows, right: false)
    }

    /// lme4's `.prt.grps`: each grouping factor once, `cat(..., fill = TRUE)` breaking at 80.
    static func groupsLine(observationCount: Int, randomEffects: [MixedModelFit.RandomEffects]) -> String {
        var factors: [String] = []
        for effects in randomEffects where !factors.contains(effects.group) { factors.append(effects.group) }
        let groups = factors.map { name in "\(name), \(randomEffects.first { $0.group == name }!.levels.count)" }.joined(separator: "; ")
        let head = "Number of obs: \(observationCount), groups: "
        return (head.count + 1 + groups.count > 80 ? head + " \n" + groups : head + " " + groups) + "\n"
    }

    /// R's `printCoefmat` without p-values: estimates and SEs rounded to
    /// `digits − (1 + ⌊log10 min |·|⌋)` decimals and formatted together, t values rounded to 3.
    /// With `pValues` (glmer's z tests): a `Pr(>|z|)` column by R's `format.pval` with
    /// `digits − 1` digits, the significance stars, and R's legend line.
    static func coefficients(_ names: [String], estimates: [Double], standardErrors: [Double], statistic: String = "t value",
                             pValues: [Double]? = nil) -> String {
        let both = estimates + standardErrors
        let nonzero = both.filter { $0.isFinite && $0 != 0 }.map(Swift.abs)
        let leading = 1 + (nonzero.min().map { Int(floor(log10($0))) } ?? 0)
        let columns = RPrintFormat.format(both.map { RPrintFormat.round($0, max(1, digits - leading)) }, digits: digits)
        let statistics = RPrintFormat.format(zip(estimates, standardErrors).map { RPrintFormat.round($0 / $1, 3) }, digits: digits)
        let n = names.count
        var rows = (0..<n).map { [columns[$0], columns[n + $0], statistics[$0]] }
        var header = ["Estimate", "Std. Error", statistic]
        guard let pValues else { return RPrintFormat.matrix(rowNames: names, header: header, rows: rows, right: true) }
        let formatted = formatPValues(pValues, digits: max(1, min(5, digits - 1)))
        for r in 0..<n { rows[r] += [formatted[r], stars(pValues[r])] }
        header += ["Pr(>|z|)", "   "]
        return RPrintFormat.matrix(rowNames: names, header: header, rows: rows, right: true)
            + "---\nSignif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1\n"
    }

    /// R's `format.pval(pv, digits)` with eps = machine epsilon: values from 1e-4 (for
    /// digits > 1) up formatted together, smaller ones together, those below eps as `<2e-16`.
    static func formatPValues(_ values: [Double], digits: Int) -> [String] {
        var result = [String](repeating: "", count: values.count)
        let epsilon = Double.ulpOfOne
        let shown = values.indices.filter { values[$0] >= epsilon }
        let exponent = { (p: Double) in Int(floor(log10(p > 0 ? p : 1e-50))) }
        let fixed = shown.filter { exponent(values[$0]) >= -3 || (exponent(values[$0]) == -4 && digits > 1) }
        let small = shown.filter { !fixed.contains($0) }
        for group in [fixed, small] where !group.isEmpty {
            for (index, text) in zip(group, RPrintFormat.format(group.map { values[$0] }, digits: digits)) { result[index] = text }
        }
        let widest = shown.map { result[$0].count }.max() ?? 0
        let separator = shown.isEmpty || widest <= 6 ? "" : " "
        for index in values.indices where values[index] < epsilon { result[index] = "<" + separator + "2e-16" }
        return result
    }

    /// `symnum`'s significance stars, padded to three characters.
    static func stars(_ p: Double) -> String {
        p < 0.001 ? "***" : p < 0.01 ? "** " : p < 0.05 ? "*  " : p < 0.1 ? ".  " : "   "
    }

    /// lme4's correlation of fixed effects: rows `abbreviate(names, 11)`, columns
    /// `abbreviate(names, 6)`, values rounded to 3 decimals; above 12 fixed effects lme4's
    /// sentence instead (its `message()`, with the mixmc way to get the matrix).
    static func fixedEffectsCorrelation(names: [String], covariance: [[Double]]) -> String {
        let p = names.count
        guard p > 1 else { return "" }
        guard p <= correlationMaximum else {
            return "\nCorrelation matrix not shown by default, as p = \(p) > \(correlationMaximum).\n"
                + "Use `mixmc fit --json` (fixed_correlation) if you need it\n"
        }
        let correlations = (0..<p).flatMap { r in (0..<p).map { c in covariance[r][c] / (covariance[r][r] * covariance[c][c]).squareRoot() } }
        let cells = RPrintFormat.format(correlations.map { RPrintFormat.round($0, 3) }, digits: 7, nsmall: 3)
        let rowNames = RPrintFormat.abbreviate(names, minlength: 11)
        let columnNames = RPrintFormat.abbreviate(names, minlength: 6)
        let rows = (1..<p).map { r in (0..<(p - 1)).map { c in c < r ? cells[r * p + c] : "" } }
        return "\nCorrelation of Fixed Effects:\n"
            + RPrintFormat.matrix(rowNames: Array(rowNames.dropFirst()), header: Array(columnNames.dropLast()), rows: rows, right: false)
    }
}
