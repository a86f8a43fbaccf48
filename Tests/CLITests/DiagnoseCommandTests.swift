import Foundation
import Testing
import TestSupport

/// `mixmc diagnose` end to end: the built executable on the CmdStan-layout fixture, its JSON
/// checked against ArviZ 0.23.4's numbers for the same files (Tests/Fixtures/cmdstan/reference.json).
struct DiagnoseCommandTests {
    static func run(_ arguments: [String]) throws -> CommandResult { try runMixmc(arguments) }

    static func reference() throws -> [String: Any] {
        try #require(Fixtures.json("cmdstan/reference.json") as? [String: Any])
    }

    @Test func jsonOnFixtureDirectoryMatchesArviz() throws {
        let result = try Self.run(["diagnose", "--json", "--all", Fixtures.url("cmdstan").path])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(object["chains"] as? Int == 2)
        #expect(object["draws_per_chain"] as? Int == 100)
        #expect(object["divergences"] as? Int == 3)
        let warnings = try #require(object["warnings"] as? [String])
        #expect(warnings.contains { $0.contains("divergence") })

        let reference = try Self.reference()
        let expectedParameters = try #require(reference["parameters"] as? [String: [String: Double]])
        let parameters = try #require(object["parameters"] as? [[String: Any]])
        #expect(parameters.count == expectedParameters.count)
        for parameter in parameters {
            let name = try #require(parameter["name"] as? String)
            let expected = try #require(expectedParameters[name], "unexpected parameter \(name)")
            for key in ["mean", "sd", "q5", "q50", "q95", "rhat", "ess_bulk", "ess_tail", "mcse_mean", "mcse_sd"] {
                let actual = try #require((parameter[key] as? NSNumber)?.doubleValue, "\(name).\(key) missing")
                let value = try #require(expected[key])
                #expect(isClose(actual, value, relative: 1e-6), "\(name) \(key): \(actual) vs ArviZ \(value)")
            }
        }
    }

    @Test func groupLevelEffectsOnlyWithAll() throws {
        let files = ["cmdstan/sleepstudy-1.csv", "cmdstan/sleepstudy-2.csv"].map { Fixtures.url($0).path }
        let result = try Self.run(["diagnose", "--json"] + files)
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let names = try #require(object["parameters"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        #expect(names == ["lp__", "b_Intercept", "b_Days", "sigma", "sd_Subject__Intercept"])
    }

    @Test func tablePrintsSummaryAndWarnings() throws {
        let result = try Self.run(["diagnose", Fixtures.url("cmdstan").path])
        #expect(result.status == 0)
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first == "2 chain(s) x 100 draws from 2 file(s)")
        #expect(lines.contains { $0.hasPrefix("parameter") && $0.contains("R-hat") && $0.contains("ess_bulk") })
        #expect(lines.contains { $0.hasPrefix("b_Intercept ") })
        #expect(!lines.contains { $0.hasPrefix("r_Subject") })
        #expect(lines.contains("Warnings:"))
        #expect(lines.contains { $0.hasPrefix("Divergences: 3 (per chain: 1, 2)") })
    }

    /// NaN statistics (a constant parameter) are JSON null, not a crash or an invalid token.
    @Test func nanIsJSONNull() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for chain in 1...2 {
            // Chains differ in lp__ (the same chain twice is refused), `fixed` is constant.
            let text = "lp__,fixed\n" + (0..<10).map { "\(Double($0 * chain) * 0.37),2.5" }.joined(separator: "\n") + "\n"
            try text.write(to: directory.appendingPathComponent("c\(chain).csv"), atomically: true, encoding: .utf8)
        }
        let result = try Self.run(["diagnose", "--json", directory.path])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let fixed = try #require((object["parameters"] as? [[String: Any]])?.first { $0["name"] as? String == "fixed" })
        #expect(fixed["rhat"] is NSNull)
        #expect((fixed["mean"] as? NSNumber)?.doubleValue == 2.5)
    }

    @Test func missingFileFailsWithItsName() throws {
        let result = try Self.run(["diagnose", "/nonexistent/chain-1.csv"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("/nonexistent/chain-1.csv: no such file or directory"))
    }

    @Test func directoryWithoutCSVFails() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let result = try Self.run(["diagnose", directory.path])
        #expect(result.status != 0)
        #expect(result.standardError.contains("directory holds no .csv files"))
    }

    @Test func mismatchedColumnsFailWithFileName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-mismatch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "lp__,a\n1,2\n3,4\n5,6\n".write(to: directory.appendingPathComponent("1.csv"), atomically: true, encoding: .utf8)
        try "lp__,b\n1,2\n3,4\n5,6\n".write(to: directory.appendingPathComponent("2.csv"), atomically: true, encoding: .utf8)
        let result = try Self.run(["diagnose", directory.path])
        #expect(result.status != 0)
        #expect(result.standardError.contains("2.csv: columns differ from"))
    }

    @Test func malformedFileFailsWithLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("bad.csv")
        try "lp__,a\n1,2\n3,x\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try Self.run(["diagnose", file.path])
        #expect(result.status != 0)
        #expect(result.standardError.contains("bad.csv:3: column a: 'x' is not a number"))
    }
}
