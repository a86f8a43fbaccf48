import ChainIO
import Foundation
import Testing
import TestSupport

/// `mixmc compare` end to end on sleepstudy: the table's structure, REML columns equal to
/// `mixmc fit --json`, posterior columns equal to `mixmc diagnose --json` on the same chain files
/// (and the 95% interval to type-7 quantiles computed here from the files), shrinkage against
/// `fit`'s conditional modes and `diagnose --all`'s means, and the flat-prior marginal mode
/// against lme4's REML θ.
struct CompareCommandTests {
    private func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try runMixmc(arguments)
        #expect(result.status == 0, "\(arguments.joined(separator: " ")): \(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    }

    /// R's type-7 quantile, written out again so the check does not reuse Diagnostics.
    private func typeSeven(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        let h = Double(sorted.count - 1) * p
        let low = Int(h.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        return sorted[low] + (h - Double(low)) * (sorted[high] - sorted[low])
    }

    @Test func sleepstudyMatchesFitAndDiagnose() throws {
        let compare = try json(["compare", "models/sleepstudy", "--chains", "2", "--warmup", "200", "--draws", "300", "--seed", "1", "--json"])
        #expect(compare["method"] as? String == "REML")
        #expect(compare["chains"] as? Int == 2)
        #expect(compare["draws_per_chain"] as? Int == 300)
        let directory = try #require(compare["chains_dir"] as? String)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let fit = try json(["fit", "models/sleepstudy", "--json"])
        let diagnose = try json(["diagnose", directory, "--json", "--all"])
        let summaries = Dictionary(uniqueKeysWithValues: try #require(diagnose["parameters"] as? [[String: Any]]).map {
            ($0["name"] as! String, $0)
        })
        let chains = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".csv") }.sorted()
            .map { try StanCSVReader.read(url: URL(fileURLWithPath: directory).appendingPathComponent($0)) }
        #expect(chains.count == 2)

        // Structure: one row per β, σ, SD and correlation, in the chain files' order.
        let rows = try #require(compare["parameters"] as? [[String: Any]])
        #expect(rows.map { $0["name"] as? String } == ["b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept", "sd_Subject__Days", "cor_Subject__Intercept__Days"])
        for row in rows {
            for key in ["name", "kind", "label", "estimate", "se", "mean", "median", "mode", "sd", "q2_5", "q97_5", "diff_sd", "rhat", "ess_bulk"] {
                #expect(row[key] != nil, "\(row["name"] ?? "?"): no \(key)")
            }
        }

        // REML columns are `mixmc fit --json`'s numbers.
        let fixed = try #require(fit["fixed"] as? [[String: Any]])
        for (row, effect) in zip(rows.prefix(2), fixed) {
            #expect(row["estimate"] as? Double == effect["estimate"] as? Double)
            #expect(row["se"] as? Double == effect["se"] as? Double)
        }
        #expect(rows[2]["estimate"] as? Double == fit["sigma"] as? Double)
        #expect(rows[2]["se"] is NSNull)
        let varcorr = try #require(fit["varcorr"] as? [[String: Any]])
        #expect(rows[3]["estimate"] as? Double == varcorr.first { $0["name"] as? String == "(Intercept)" && $0["sd"] != nil && $0["group"] as? String == "Subject" }?["sd"] as? Double)
        #expect(rows[4]["estimate"] as? Double == varcorr.first { $0["name"] as? String == "Days" && $0["sd"] != nil }?["sd"] as? Double)
        #expect(rows[5]["estimate"] as? Double == varcorr.first { $0["corr"] != nil }?["corr"] as? Double)

        // Posterior columns are `mixmc diagnose`'s for the same files; the interval and the
        // difference follow from the draws.
        for row in rows {
            let name = row["name"] as! String
            let summary = try #require(summaries[name])
            #expect(row["mean"] as? Double == summary["mean"] as? Double, "\(name) mean")
            #expect(row["sd"] as? Double == summary["sd"] as? Double, "\(name) sd")
            #expect(row["median"] as? Double == summary["q50"] as? Double, "\(name) median")
            #expect(row["rhat"] as? Double == summary["rhat"] as? Double, "\(name) rhat")
            let pooled = chains.flatMap { $0.column(name)! }
            #expect(pooled.count == 600)
            #expect(isClose(row["q2_5"] as! Double, typeSeven(pooled, 0.025), relative: 1e-14), "\(name) 2.5%")
            #expect(isClose(row["q97_5"] as! Double, typeSeven(pooled, 0.975), relative: 1e-14), "\(name) 97.5%")
            let mean = row["mean"] as! Double, sd = row["sd"] as! Double, estimate = row["estimate"] as! Double
            #expect(isClose(row["diff_sd"] as! Double, (mean - estimate) / sd, relative: 1e-12), "\(name) diff")
            let mode = row["mode"] as! Double
            #expect(mode >= pooled.min()! && mode <= pooled.max()!, "\(name) mode \(mode) outside the draws")
        }

        // Shrinkage: conditional modes are `fit`'s, posterior means `diagnose --all`'s.
        let effects = try #require(compare["random_effects"] as? [[String: Any]])
        #expect(effects.map { $0["coefficient"] as? String } == ["(Intercept)", "Days"])
        let ranef = try #require((fit["ranef"] as? [String: [[String: Any]]])?["Subject"])
        for (c, effect) in effects.enumerated() {
            let coefficient = effect["coefficient"] as! String
            let levels = try #require(effect["levels"] as? [[String: Any]])
            #expect(levels.count == 18)
            var largest = 0.0
            var largestLevel = ""
            for (h, level) in levels.enumerated() {
                #expect(level["level"] as? String == ranef[h]["level"] as? String)
                #expect(level["conditional_mode"] as? Double == ranef[h][coefficient] as? Double)
                #expect(level["posterior_mean"] as? Double == summaries["r_Subject.\(h + 1).\(c + 1)"]?["mean"] as? Double)
                let difference = abs((level["posterior_mean"] as! Double) - (level["conditional_mode"] as! Double))
                if difference > largest { largest = difference; largestLevel = level["level"] as! String }
            }
            #expect(effect["max_abs_difference_level"] as? String == largestLevel)
            // Foundation's JSONSerialization does not print every double in its shortest
            // round-trip form, so a difference recomputed from the printed operands can differ
            // in the last bits (3e-15 relative seen) from the one computed before printing.
            #expect(isClose(effect["max_abs_difference"] as! Double, largest, relative: 1e-13))
            #expect((effect["correlation"] as? Double ?? 0) > 0.95, "shrinkage keeps the order of the levels")
        }

        // The flat-prior marginal mode is lme4's REML θ and σ.
        let mode = try #require(compare["marginal_mode"] as? [String: Any])
        let lme4 = try #require(((Fixtures.json("lme4_fits.json") as? [String: Any])?["fits"] as? [String: [String: Any]])?["sleepstudy_corr_REML"])
        let expectedTheta = lme4["theta"] as! [String: Double]
        let names = try #require(mode["theta_names"] as? [String])
        let theta = try #require(mode["theta"] as? [Double])
        for (name, value) in zip(names, theta) {
            #expect(relativeError(value, expectedTheta[name]!) <= 1e-4, "θ \(name): \(value) vs lme4 \(expectedTheta[name]!)")
        }
        #expect(relativeError(mode["sigma"] as! Double, lme4["sigma"] as! Double) <= 1e-4)
        #expect(mode["reml_theta"] as? [Double] == fit["theta"] as? [Double])
    }

    @Test func textTableAndChainsDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-compare-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sampled = try runMixmc(["sample", "models/dyestuff", "--chains", "2", "--warmup", "100", "--draws", "200", "--seed", "3", "--output", directory, "--quiet"])
        #expect(sampled.status == 0, "\(sampled.standardError)")
        let result = try runMixmc(["compare", "models/dyestuff", "--chains-dir", directory])
        #expect(result.status == 0, "\(result.standardError)")
        let text = result.standardOutput
        for expected in ["REML fit and posterior (2 chains x 200 draws)", "b_Intercept", "sd_Batch__Intercept",
                         "Random effects: conditional modes (REML) against posterior means",
                         "Flat-prior marginal posterior mode", "theta Batch.(Intercept)"] {
            #expect(text.contains(expected), "missing \(expected) in\n\(text)")
        }
        let wrongModel = try runMixmc(["compare", "models/sleepstudy", "--chains-dir", directory])
        #expect(wrongModel.status != 0)
        #expect(wrongModel.standardError.contains("not a chain of this model"), "\(wrongModel.standardError)")
    }
}
