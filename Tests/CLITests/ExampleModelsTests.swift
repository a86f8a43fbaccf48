import ChainIO
import Foundation
import Testing
import TestSupport

/// Every example under models/ end to end with quick settings: its README names the commands,
/// `mixmc fit` fits it, and `mixmc sample` writes two chains that read back with the expected
/// parameter columns and finite draws.
@Suite struct ExampleModelsTests {
    struct Example: CustomTestStringConvertible, Sendable {
        var name: String
        var rows: Int
        var parameters: [String]
        /// What the run header's sampler line says (GLMM examples: which Gibbs sampler and why).
        var sampler = "sampler: "
        var testDescription: String { name }
    }

    static let examples: [Example] = [
        Example(name: "sleepstudy", rows: 180,
                parameters: ["b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept", "sd_Subject__Days", "cor_Subject__Intercept__Days"]),
        Example(name: "dyestuff", rows: 30, parameters: ["b_Intercept", "sigma", "sd_Batch__Intercept"]),
        Example(name: "penicillin", rows: 144, parameters: ["b_Intercept", "sigma", "sd_plate__Intercept", "sd_sample__Intercept"]),
        Example(name: "pastes", rows: 60, parameters: ["b_Intercept", "sigma", "sd_cask_batch__Intercept", "sd_batch__Intercept"]),
        Example(name: "sim_medium", rows: 20000,
                parameters: ["b_Intercept", "b_x", "b_z", "sigma", "sd_g__Intercept", "sd_g__x", "cor_g__Intercept__x"]),
        Example(name: "sim_crossed", rows: 30000, parameters: ["b_Intercept", "b_x", "sigma", "sd_a__Intercept", "sd_b__Intercept"]),
        Example(name: "insteval", rows: 73421,
                parameters: ["b_Intercept", "b_service1", "sigma", "sd_s__Intercept", "sd_d__Intercept", "sd_dept_service__Intercept"]),
    ]

    /// Binomial and Poisson examples: fitted (Laplace) and sampled by their family's Gibbs
    /// sampler, with no `sigma` column.
    static let generalizedExamples: [Example] = [
        // 15 trials a row on average: the Laplace-proposal sampler, not Pólya-Gamma (IRLSProposalGibbs.manyTrials).
        Example(name: "cbpp", rows: 56, parameters: ["b_Intercept", "b_periodp2", "b_periodp3", "b_periodp4", "sd_herd__Intercept"],
                sampler: "proposals from each block's Laplace approximation) and shift moves, the fastest exact sampler for binomial(link = \"logit\") here: its rows average 10 or more trials"),
        Example(name: "grouseticks", rows: 403,
                parameters: ["b_Intercept", "b_YEARy96", "b_YEARy97", "b_HEIGHT_s", "sd_INDEX__Intercept", "sd_BROOD__Intercept", "sd_LOCATION__Intercept"],
                sampler: "sampler: blocked Gibbs with the log rates as latent variables"),
        Example(name: "verbagg", rows: 7584,
                parameters: ["b_Intercept", "b_Anger", "b_GenderM", "b_btypescold", "b_btypeshout", "b_situself", "sd_id__Intercept", "sd_item__Intercept"],
                sampler: "sampler: blocked Gibbs after Pólya-Gamma augmentation"),
    ]

    /// The lists above are every directory of models/ with a model.toml, so a new example gets tested.
    @Test func theListCoversEveryModelDirectory() throws {
        let models = Fixtures.repositoryRoot.appendingPathComponent("models")
        let names = try FileManager.default.contentsOfDirectory(atPath: models.path).filter {
            FileManager.default.fileExists(atPath: models.appendingPathComponent("\($0)/model.toml").path)
        }
        #expect(Set(names) == Set((Self.examples + Self.generalizedExamples).map(\.name)))
        let index = try String(contentsOf: models.appendingPathComponent("README.md"), encoding: .utf8)
        for name in names { #expect(index.contains("(\(name)/README.md)"), "models/README.md does not link \(name)") }
    }

    @Test(arguments: generalizedExamples)
    func readmeFitAndQuickGibbsSample(_ example: Example) throws {
        let directory = "models/\(example.name)"
        let readme = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("\(directory)/README.md"), encoding: .utf8)
        for command in ["mixmc fit \(directory)", "mixmc sample \(directory)"] {
            #expect(readme.contains(command), "\(directory)/README.md does not show `\(command)`")
        }
        let fit = try runMixmc(["fit", directory])
        #expect(fit.status == 0, "stderr: \(fit.standardError)")
        #expect(fit.standardOutput.hasPrefix("Generalized linear mixed model fit by maximum likelihood (Laplace\n  Approximation) [glmerMod]\n"))
        #expect(fit.standardOutput.contains("Number of obs: \(example.rows), groups:"))
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-example-\(example.name)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let sample = try runMixmc(["sample", directory, "--chains", "2", "--warmup", "10", "--draws", "20", "--seed", "7",
                                   "--quiet", "--output", output.path])
        #expect(sample.status == 0, "stderr: \(sample.standardError)")
        #expect(sample.standardError.contains(example.sampler), "the run header names the family's sampler: \(example.sampler)")
        #expect(!sample.standardError.contains("sigma ~"), "no prior for a σ the family does not have")
        for id in 1...2 {
            let chain = try StanCSVReader.read(url: output.appendingPathComponent("chain-\(id).csv"))
            #expect(chain.drawCount == 20)
            #expect(chain.columnNames.filter { !$0.hasPrefix("r_") && $0 != "lp__" } == example.parameters)
            #expect(chain.draws.allSatisfy { $0.allSatisfy(\.isFinite) })
        }
        let compareOutput = output.path + "-compare"
        defer { try? FileManager.default.removeItem(atPath: compareOutput) }
        let compare = try runMixmc(["compare", directory, "--chains", "2", "--warmup", "20", "--draws", "40", "--seed", "3",
                                    "--quiet", "--output", compareOutput])
        #expect(compare.status == 0, "stderr: \(compare.standardError)")
        #expect(compare.standardOutput.contains("Laplace fit and posterior (2 chains x 40 draws)"))
        #expect(compare.standardOutput.contains("Random effects: conditional modes (Laplace) against posterior means"))
        #expect(!compare.standardOutput.contains("sigma"))
    }

    @Test(arguments: examples)
    func readmeFitAndQuickSample(_ example: Example) throws {
        let directory = "models/\(example.name)"
        let readme = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("\(directory)/README.md"), encoding: .utf8)
        for command in ["mixmc fit \(directory)", "mixmc sample \(directory)", "mixmc diagnose chains/\(example.name)"] {
            #expect(readme.contains(command), "\(directory)/README.md does not show `\(command)`")
        }
        #expect(FileManager.default.fileExists(atPath: Fixtures.repositoryRoot.appendingPathComponent("\(directory)/priors.toml").path))

        let fit = try runMixmc(["fit", directory])
        #expect(fit.status == 0, "stderr: \(fit.standardError)")
        #expect(fit.standardOutput.contains("Number of obs: \(example.rows), groups:"))
        if example.name == "insteval" {
            // service is read as categorical (it is in the grouping term dept:service).
            #expect(fit.standardOutput.split(separator: "\n").contains { $0.hasPrefix("service1 ") })
        }

        let output = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-example-\(example.name)-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let sample = try runMixmc(["sample", directory, "--chains", "2", "--warmup", "10", "--draws", "20", "--seed", "7",
                                   "--quiet", "--output", output.path])
        #expect(sample.status == 0, "stderr: \(sample.standardError)")
        #expect(sample.standardError.contains("\(directory)/priors.toml"), "the model's priors file is used")
        #expect(sample.standardOutput.contains("2 chain(s) x 20 draws from 2 file(s)"))
        for id in 1...2 {
            let chain = try StanCSVReader.read(url: output.appendingPathComponent("chain-\(id).csv"))
            #expect(chain.drawCount == 20)
            let parameters = chain.columnNames.filter { !$0.hasPrefix("r_") && $0 != "lp__" }
            #expect(parameters == example.parameters)
            #expect(chain.draws.allSatisfy { $0.allSatisfy(\.isFinite) })
        }
    }
}
