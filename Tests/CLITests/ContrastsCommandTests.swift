import Foundation
import Testing
import TestSupport

/// `--contrasts`, `--reference`, `--ordered` and their model.toml keys, end to end, against the
/// lme4 fits in Tests/Fixtures/lme4_formulas.json (scripts/make_lme4_formula_fixtures.R).
struct ContrastsCommandTests {
    static func lme4(_ name: String) throws -> [String: Any] {
        let root = try #require(try Fixtures.json("lme4_formulas.json") as? [String: Any])
        return try #require((root["fits"] as? [[String: Any]])?.first { $0["name"] as? String == name })
    }

    static func fitJSON(_ arguments: [String]) throws -> [String: Any] {
        let result = try runMixmc(["fit", "--json"] + arguments)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    }

    @Test(arguments: [("Machines_sum", ["--contrasts", "Machine=sum"]), ("Machines_helmert", ["--contrasts", "Machine=contr.helmert"]),
                      ("Machines_reference", ["--reference", "Machine=C"]), ("Oats_poly", ["--ordered", "nitro"])])
    func flagsMatchLme4(name: String, flags: [String]) throws {
        let reference = try Self.lme4(name)
        let data = Fixtures.url("data/\(reference["data"] as! String).csv").path
        let object = try Self.fitJSON(["--data", data, "--formula", reference["formula"] as! String] + flags)
        #expect(isClose(object["objective"] as? Double ?? .nan, reference["objective"] as! Double, relative: 1e-6))
        let names = (object["fixed"] as? [[String: Any]] ?? []).map { $0["name"] as? String ?? "" }
        #expect(names == (reference["fixef"] as! [[String: Any]]).map { $0["name"] as! String })
    }

    @Test func modelDirectoryKeys() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-contrasts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: Fixtures.url("data/Machines.csv"), to: directory.appendingPathComponent("data.csv"))
        try """
            data = "data.csv"
            formula = "score ~ Machine + (1 | Worker)"
            contrasts = { Machine = "sum" }
            """.write(to: directory.appendingPathComponent("model.toml"), atomically: true, encoding: .utf8)
        let object = try Self.fitJSON([directory.path])
        #expect((object["fixed"] as? [[String: Any]] ?? []).map { $0["name"] as? String } == ["(Intercept)", "Machine1", "Machine2"])
        // A flag overrides the directory's entry.
        let overridden = try Self.fitJSON([directory.path, "--contrasts", "Machine=treatment", "--reference", "Machine=B"])
        #expect((overridden["fixed"] as? [[String: Any]] ?? []).map { $0["name"] as? String } == ["(Intercept)", "MachineA", "MachineC"])
    }

    @Test(arguments: [
        (["--reference", "Machine=Z"], "reference level 'Z' is not a level of 'Machine'; its levels are: A, B, C"),
        (["--contrasts", "Machine=bogus"], "unknown contrasts 'bogus'; use one of: treatment, sum, helmert, poly"),
        (["--contrasts", "Worker=sum"], "contrasts, reference level or ordered given for 'Worker', which is not a factor in the formula's terms; its factors are: Machine"),
    ])
    func badChoicesAreErrors(flags: [String], message: String) throws {
        let result = try runMixmc(["fit", "--data", Fixtures.url("data/Machines.csv").path, "--formula", "score ~ Machine + (1 | Worker)"] + flags)
        #expect(result.status != 0)
        #expect(result.standardError.contains(message), "stderr: \(result.standardError)")
    }
}
