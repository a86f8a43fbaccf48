import ArgumentParser
import Foundation
import ModelSpec
import PenalizedLS

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a linear mixed model by REML (default) or ML, as lme4's lmer does.",
        discussion: """
            Prints a summary laid out like lme4's summary(lmer(...)). With --json, prints one JSON \
            object: method, objective (REML criterion or ML deviance), loglik, aic, bic, theta \
            (lme4 order), theta_names, sigma, fixed [{name, estimate, se}], varcorr [{group, name, \
            sd} | {group, name, name2, corr} | {group: "Residual", sd}], nobs, rows_dropped, \
            ngroups, ranef {group: [{level, <coef>...}]}, ranef_condsd (same shape: conditional \
            SDs), singular, converged, convergence_messages, optimizer_status, gradient, \
            optimizer_evaluations, seconds.
            """)

    @OptionGroup var model: ModelOptions

    @Flag(help: "Maximum likelihood instead of REML.")
    var ml = false

    @Flag(help: "Print one JSON object instead of the text summary.")
    var json = false

    mutating func run() throws {
        try runReportingErrors {
            let design = try model.loadDesign()
            let fit = try MixedModelFit.fit(design, method: ml ? .ml : .reml)
            if json {
                let data = try JSONSerialization.data(withJSONObject: fit.jsonObject(), options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                if design.rowsDropped > 0 {
                    printError("note: \(design.rowsDropped) row\(design.rowsDropped == 1 ? "" : "s") with missing values in the model's columns dropped")
                }
                let file = URL(fileURLWithPath: design.dataSource)
                // A model directory's data.csv is better named by its directory (models/sleepstudy).
                let dataName = file.deletingPathExtension().lastPathComponent == "data"
                    ? file.deletingLastPathComponent().lastPathComponent : file.deletingPathExtension().lastPathComponent
                print(fit.summaryText(formula: design.formula.source, dataName: dataName), terminator: "")
            }
        }
    }
}
