import Foundation
import Testing
import TestSupport

/// `mixmc fit` and `mixmc describe` end to end, on the model directories in models/ and on bad input.
struct FitCommandTests {
    @Test func fitJSONOnModelDirectoryMatchesLme4() throws {
        let result = try runMixmc(["fit", "models/sleepstudy", "--json"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let reference = try #require((Fixtures.json("lme4_fits.json") as? [String: Any])?["fits"] as? [String: [String: Any]])
        let lme4 = try #require(reference["sleepstudy_corr_REML"])
        #expect(object["method"] as? String == "REML")
        #expect(isClose(object["objective"] as? Double ?? .nan, lme4["REML_criterion"] as! Double, relative: 1e-6))
        #expect(isClose(object["sigma"] as? Double ?? .nan, lme4["sigma"] as! Double, relative: 1e-4))
        let theta = try #require(object["theta"] as? [Double])
        let expectedTheta = lme4["theta"] as! [String: Double]
        #expect(theta.count == 3)
        #expect(isClose(theta[0], expectedTheta["Subject.(Intercept)"]!, relative: 1e-4))
        #expect(isClose(theta[1], expectedTheta["Subject.Days.(Intercept)"]!, relative: 1e-4))
        #expect(isClose(theta[2], expectedTheta["Subject.Days"]!, relative: 1e-4))
        let fixed = try #require(object["fixed"] as? [[String: Any]])
        #expect(fixed.map { $0["name"] as? String } == ["(Intercept)", "Days"])
        #expect(isClose(fixed[1]["se"] as? Double ?? .nan, 1.54578964390598, relative: 1e-4))
        #expect((object["ngroups"] as? [String: Int])?["Subject"] == 18)
        let ranef = try #require((object["ranef"] as? [String: [[String: Any]]])?["Subject"])
        #expect(ranef.count == 18)
        #expect(ranef[0]["level"] as? String == "308")
        #expect(isClose(ranef[0]["Days"] as? Double ?? .nan, 9.1989757655659, relative: 1e-4))
        let varcorr = try #require(object["varcorr"] as? [[String: Any]])
        let correlation = try #require(varcorr.first { $0["corr"] != nil })
        #expect(correlation["name"] as? String == "(Intercept)" && correlation["name2"] as? String == "Days")
        #expect(isClose(correlation["corr"] as? Double ?? .nan, 0.0655512382381282, relative: 1e-4))
    }

    @Test func textSummaryIsLaidOutLikeLme4() throws {
        let result = try runMixmc(["fit", "--data", "models/sleepstudy/data.csv", "--formula", "Reaction ~ Days + (Days | Subject)"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let text = result.standardOutput
        // The lines lme4 prints for this fit (lme4 1.1-31), compared where our layout is lme4's.
        #expect(text.contains("Linear mixed model fit by REML ['lmerMod']"))
        #expect(text.contains("REML criterion at convergence: 1743.6"))
        #expect(text.contains("-3.9536 -0.4634  0.0231  0.4634  5.1793 "))
        #expect(text.contains("   Data: models/sleepstudy/data.csv\n"))
        #expect(text.contains("Number of obs: 180, groups:  Subject, 18"))
        #expect(text.contains("(Intercept)  251.405      6.825  36.838"))
        #expect(text.contains("Days          10.467      1.546   6.771"))
        #expect(text.contains("Days -0.138"))
    }

    @Test func mlFitReportsDeviance() throws {
        let result = try runMixmc(["fit", "models/dyestuff", "--ml", "--json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["method"] as? String == "ML")
        #expect(isClose(object["objective"] as? Double ?? .nan, 327.327059881135, relative: 1e-6))
    }

    @Test func describePrintsTermsAndTheta() throws {
        let result = try runMixmc(["describe", "models/sleepstudy"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("180 rows used, 0 dropped"))
        #expect(result.standardOutput.contains("((Intercept) + Days | Subject): 18 levels [308, 309, 310, 330, 331, …], 36 effects"))
        #expect(result.standardOutput.contains("θ[1-3]: Subject.(Intercept), Subject.Days.(Intercept), Subject.Days"))
    }

    @Test func missingRowsAreDroppedAndCounted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-na-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var lines = try String(contentsOf: Fixtures.url("data/sleepstudy.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
        lines[1] = "NA,0,\"308\""
        lines[2] = ",1,\"308\""
        let file = directory.appendingPathComponent("sleep_na.csv")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let result = try runMixmc(["fit", "--data", file.path, "--formula", "Reaction ~ Days + (1 | Subject)"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardError.contains("note: 2 rows with missing values in the model's columns dropped"))
        #expect(result.standardOutput.contains("Number of obs: 178"))
    }

    @Test(arguments: [
        (["fit", "--data", "models/sleepstudy/data.csv", "--formula", "Reaction ~ Days + (Days | Subject"],
         "error: expected ')' to close '(' opened at column 19"),
        (["fit", "--data", "models/sleepstudy/data.csv", "--formula", "Reaction ~ Dayz + (1 | Subject)"],
         "unknown column 'Dayz'; columns in models/sleepstudy/data.csv are: Reaction, Days, Subject"),
        (["fit", "--data", "no/such/file.csv", "--formula", "y ~ 1 + (1 | g)"],
         "no/such/file.csv"),
        (["fit", "--data", "models/sleepstudy/data.csv", "--formula", "Reaction ~ Days"],
         "no random-effects term"),
        (["fit", "no/such/model"],
         "no/such/model/model.toml: no model.toml here"),
    ])
    func badInputGivesAClearErrorAndNonZeroExit(arguments: [String], message: String) throws {
        let result = try runMixmc(arguments)
        #expect(result.status != 0)
        #expect(result.standardError.contains(message), "stderr was: \(result.standardError)")
        #expect(!result.standardError.contains("Fatal error"))
    }
}
