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

    @Option(help: "Response distribution: gaussian (default), binomial or poisson (as lme4's glmer).")
    var family: String?

    @Option(help: "Link function: binomial takes logit (default), probit or cloglog; poisson takes log.")
    var link: String?

    @Option(help: "Column of prior weights (lme4's weights =): a Gaussian row's precision weight, or a binomial proportion's number of trials.")
    var weights: String?

    @Option(help: "Treatment contrasts' reference level per factor, FACTOR=LEVEL (comma-separated), as R's relevel().")
    var reference: String?

    @Option(help: "Contrasts per factor, FACTOR=KIND with KIND treatment (default), sum, helmert or poly (comma-separated).")
    var contrasts: String?

    @Option(help: "Factors to treat as ordered, with polynomial contrasts (comma-separated); read as categorical.")
    var ordered: String?

    /// Reads the data and formula, and builds the design.
    func loadDesign() throws -> Design {
        var dataPath = data
        var formulaText = formula
        var categoricalColumns = Set(Self.list(categorical))
        var familyName = family
        var linkName = link
        var weightsColumn = weights
        var chosenContrasts = Contrasts()
        if let model {
            let directory = try ModelDirectory.load(path: model)
            dataPath = dataPath ?? directory.dataPath
            formulaText = formulaText ?? directory.formula
            categoricalColumns.formUnion(directory.categorical)
            familyName = familyName ?? directory.family
            linkName = linkName ?? directory.link
            weightsColumn = weightsColumn ?? directory.weights
            chosenContrasts = directory.contrasts
        }
        do {
            try chosenContrasts.kinds.merge(Contrasts.kinds(from: contrasts ?? "")) { _, flag in flag }
            try chosenContrasts.references.merge(Contrasts.references(from: reference ?? "")) { _, flag in flag }
        } catch let error as ContrastsError { throw ValidationError(error.message) }
        chosenContrasts.ordered.formUnion(Self.list(ordered))
        categoricalColumns.formUnion(chosenContrasts.factorsNamed)
        let chosenFamily = try Self.family(named: familyName, link: linkName)
        guard let dataPath else { throw ValidationError("no data: give a model directory or --data FILE.csv") }
        guard let formulaText else { throw ValidationError("no formula: give a model directory or --formula \"y ~ x + (1 | g)\"") }
        let parsed = try Formula.parse(formulaText)
        for note in parsed.notes { printError("note: \(note)") }
        categoricalColumns.formUnion(Design.variables(of: parsed).grouping)
        // model.toml's `data` is relative to the model directory, and a missing file says so.
        let base = data == nil ? model.map { "the model directory \($0), where model.toml is" } : nil
        // Only the columns the model uses are parsed and stored; `y ~ .` needs them all.
        let used = parsed.hasUnexpandedDot ? nil : Set(Design.variables(of: parsed, weights: weightsColumn).all)
        let table = try DataTable.read(path: dataPath, categorical: categoricalColumns, columns: used, relativeTo: base)
        let design = try Design.build(data: table, formula: parsed, family: chosenFamily, weights: weightsColumn, contrasts: chosenContrasts)
        // lme4's message when X is rank deficient; fit, describe and sample all drop the same columns.
        if !design.droppedFixedColumns.isEmpty {
            printError("note: " + DesignChecks.rankDeficiencyNote(dropped: design.droppedFixedColumns))
        }
        return design
    }

    /// A comma-separated list of names.
    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The design of a command that handles linear mixed models only (sampling, the Bayes-REML
    /// comparison, the REML benchmark): another family is refused before anything is written.
    func loadGaussianDesign(command: String) throws -> Design {
        let design = try loadDesign()
        guard design.family.isGaussian else {
            throw ModelOptionsError(message: "mixmc \(command) handles Gaussian models only so far; this model's family is \(design.family.kind.rawValue)",
                                    fix: "fit it with `mixmc fit --family \(design.family.kind.rawValue)` (Laplace, adaptive Gauss-Hermite quadrature or PQL)")
        }
        return design
    }

    /// The family and link named on the command line or in model.toml.
    static func family(named name: String?, link linkName: String?) throws -> Family {
        let kinds = Family.Kind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let kind = Family.Kind(rawValue: (name ?? "gaussian").lowercased()) else {
            throw ModelOptionsError(message: "unknown family '\(name ?? "")'; the families are \(kinds)",
                                    fix: "give --family gaussian, binomial or poisson (or family = \"...\" in model.toml)")
        }
        let links = Family.links(of: kind).map(\.rawValue).joined(separator: ", ")
        var link: Link?
        if let linkName {
            guard let parsed = Link(rawValue: linkName.lowercased()) else {
                throw ModelOptionsError(message: "unknown link '\(linkName)'; the \(kind.rawValue) family's links are \(links)",
                                        fix: "give --link with one of them, or leave it out for the default (\(Family.links(of: kind)[0].rawValue))")
            }
            link = parsed
        }
        do { return try Family(kind, link: link) } catch {
            throw ModelOptionsError(message: error.description, fix: "give --link with one of \(links), or leave it out for the default (\(Family.links(of: kind)[0].rawValue))")
        }
    }
}

/// A model that a command cannot take, with the fix.
struct ModelOptionsError: Error, CustomStringConvertible {
    let message: String
    let fix: String
    var description: String { "\(message)\n  fix: \(fix)" }
}
