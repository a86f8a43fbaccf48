import Foundation
import TestSupport
@testable import ModelSpec

/// Designs the priors tests resolve files against, built once.
enum Designs {
    /// `Reaction ~ Days + (Days | Subject)`: X = [(Intercept), Days], one correlated term.
    static let sleepstudy = build("data/sleepstudy.csv", "Reaction ~ Days + (Days | Subject)", categorical: ["Subject"])
    /// `Reaction ~ Days + (Days || Subject)`: two terms both grouped by Subject.
    static let sleepstudyUncorrelated = build("data/sleepstudy.csv", "Reaction ~ Days + (Days || Subject)", categorical: ["Subject"])
    /// `Yield ~ 1 + (1 | Batch)`.
    static let dyestuff = build("data/Dyestuff.csv", "Yield ~ 1 + (1 | Batch)", categorical: ["Batch"])

    /// `y ~ 1 + (1 | batch/cask)` on a small table: terms `cask:batch` then `batch` (lme4's expansion).
    static let nested: Design = {
        var rows = ["y,batch,cask"]
        for (index, batch) in ["A", "B", "C"].enumerated() {
            for cask in ["a", "b"] {
                for replicate in 0..<2 { rows.append("\(Double(index) + (cask == "a" ? 0.5 : -0.25) + Double(replicate) * 0.1),\(batch),\(cask)") }
            }
        }
        let table = try! DataTable.parse(text: rows.joined(separator: "\n"), source: "nested.csv", categorical: ["batch", "cask"])
        return try! Design.build(data: table, formula: Formula.parse("y ~ 1 + (1 | batch/cask)"))
    }()

    static func build(_ fixture: String, _ formula: String, categorical: Set<String>) -> Design {
        let data = try! DataTable.read(path: Fixtures.url(fixture).path, categorical: categorical)
        return try! Design.build(data: data, formula: Formula.parse(formula))
    }
}

/// The error `PriorSet.parse` throws for `text`, or nil when it parses.
func parseError(_ text: String, design: Design = Designs.sleepstudy) -> PriorsError? {
    do {
        _ = try PriorSet.parse(text: text, source: "priors.toml", design: design)
        return nil
    } catch let error as PriorsError {
        return error
    } catch {
        return PriorsError(file: "unexpected", message: "\(error)", fix: "")
    }
}
