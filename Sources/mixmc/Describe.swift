import ArgumentParser
import ModelSpec

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the model's structure: rows used and dropped, X columns, each random-effects term with its levels and θ block.")

    @OptionGroup var model: ModelOptions

    mutating func run() throws {
        try runReportingErrors {
            let design = try model.loadDesign()
            print("Formula: \(design.formula.source)")
            print("Data:    \(design.dataSource): \(design.observationCount) rows used, \(design.rowsDropped) dropped (missing values)")
            print("Response: \(design.responseName)" + (design.formula.offsets.isEmpty ? "" : "  offset: \(design.formula.offsets.map(\.description).joined(separator: " + "))"))
            print("Family:  \(design.family.kind.rawValue), link \(design.family.link.rawValue); \(Self.responseForm(design))")
            print("Fixed effects (X: \(design.observationCount) x \(design.fixedCount)): \(design.fixed.columnNames.joined(separator: ", "))")
            print("Random-effects terms (in lme4's order, by decreasing number of levels):")
            var thetaIndex = 0
            for term in design.terms {
                let preview = term.levels.prefix(5).joined(separator: ", ") + (term.levelCount > 5 ? ", …" : "")
                print("  (\(term.coefficientNames.joined(separator: " + ")) | \(term.groupingName)): \(term.levelCount) levels [\(preview)], \(term.effectCount) effects")
                let range = "θ[\(thetaIndex + 1)\(term.thetaCount > 1 ? "-\(thetaIndex + term.thetaCount)" : "")]"
                print("    \(range): \(term.thetaNames.joined(separator: ", "))")
                thetaIndex += term.thetaCount
            }
            let layout = design.crossProducts.layout
            print("Blocked system: \(layout.groupCount) diagonal blocks of \(layout.groupSize)x\(layout.groupSize), dense part \(layout.denseDimension)x\(layout.denseDimension), \(layout.patternRows.count) off-diagonal pattern rows")
        }
    }

    /// How the response was read (lme4's and glm's forms).
    static func responseForm(_ design: Design) -> String {
        let weights = design.weightsName.map { ", prior weights from \($0)" } ?? ""
        switch (design.family.kind, design.formula.responseTerm) {
        case (.binomial, .successesFailures?): return "successes and failures (cbind), trials = their sum" + weights
        case (.binomial, _): return (design.weightsName == nil ? "0/1 outcomes (a two-level factor's first level is failure)" : "proportions of the trials in \(design.weightsName!)")
        case (.poisson, _): return "counts" + weights
        case (.gaussian, _): return "continuous response" + weights
        }
    }
}
