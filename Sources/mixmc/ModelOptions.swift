import ArgumentParser
import Foundation
import ModelSpec

/// The flags that say which model to use: a model directory, or `--data` and `--formula`.
struct ModelOptions: ParsableArguments {
    @Argument(help: "A model directory (models/NAME) holding model.toml; stands in for --data and --formula.")
    var model: String?

    @Option(help: "CSV file with a header row.")
    var data: String?

    @Option(help: "lme4-style formula, e.g. \"Reaction ~ Days + (Days | Subject)\".")
    var formula: String?

    @Option(help: "Numeric columns to treat as categorical (comma-separated).")
    var categorical: String?

    /// Reads the data and formula, and builds the design.
    func loadDesign() throws -> Design {
        var dataPath = data
        var formulaText = formula
        var categoricalColumns = Set((categorical ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        if let model {
            let directory = try ModelDirectory.load(path: model)
            dataPath = dataPath ?? directory.dataPath
            formulaText = formulaText ?? directory.formula
            categoricalColumns.formUnion(directory.categorical)
        }
        guard let dataPath else { throw ValidationError("no data: give a model directory or --data FILE.csv") }
        guard let formulaText else { throw ValidationError("no formula: give a model directory or --formula \"y ~ x + (1 | g)\"") }
        let parsed = try Formula.parse(formulaText)
        categoricalColumns.formUnion(Design.variables(of: parsed).grouping)
        let table = try DataTable.read(path: dataPath, categorical: categoricalColumns)
        let design = try Design.build(data: table, formula: parsed)
        // lme4's message when X is rank deficient; fit, describe and sample all drop the same columns.
        if !design.droppedFixedColumns.isEmpty {
            printError("note: " + DesignChecks.rankDeficiencyNote(dropped: design.droppedFixedColumns))
        }
        return design
    }
}
