import Foundation
import Testing
import TestSupport
@testable import ModelSpec

/// The ```toml blocks of docs/priors.md parse against the model each worked example is about.
@Suite struct PriorsDocsTests {
    @Test func everyTOMLBlockOfTheDocsParses() throws {
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/priors.md"), encoding: .utf8)
        let blocks = text.components(separatedBy: "```toml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count == 6)
        let designs = [Designs.sleepstudy, Designs.dyestuff, try Fixtures.modelDesign("sim_crossed"), Designs.nested, try Fixtures.modelDesign("insteval")]
        for block in blocks {
            let parsed = designs.contains { (try? PriorSet.parse(text: block, source: "docs", design: $0)) != nil }
            #expect(parsed, "\(block)")
        }
    }

    @Test func crossedExample() throws {
        let design = try Fixtures.modelDesign("sim_crossed")
        let priors = try PriorSet.parse(text: "[fixed]\ndefault = { mean = 0, sd = 10 }\n[tau]\ndefault = { scale = 2 }\nb = { scale = 0.5 }\n",
                                        source: "p.toml", design: design)
        #expect(priors.fixed == [NormalPrior(mean: 0, sd: 10), NormalPrior(mean: 0, sd: 10)])
        #expect(design.terms.map(\.groupingName) == ["a", "b"] || design.terms.map(\.groupingName) == ["b", "a"])
        for (term, scales) in zip(design.terms, priors.tauScales) {
            #expect(scales == [term.groupingName == "b" ? 0.5 : 2])
        }
    }
}
