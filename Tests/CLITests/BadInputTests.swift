import Foundation
import Testing
import TestSupport

/// The bad-input corpus (Tests/Fixtures/bad-inputs/): each case runs `mixmc` on a malformed
/// file, formula, priors file or flag and checks the exact stderr, a non-zero exit status, an
/// empty stdout, and that `sample` left no output directory behind (or, when the directory
/// already held chains, left those files untouched and wrote nothing beside them).
@Suite struct BadInputTests {
    static let dir = "Tests/Fixtures/bad-inputs"
    static let sleepstudy = "models/sleepstudy/data.csv"
    /// What ArgumentParser prints after a usage error of `mixmc sample`.
    static let sampleUsage = "Usage: mixmc sample [<options>] [<model>]\n  See 'mixmc sample --help' for more information.\n"

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// Arguments after the command; `{OUT}` is a path that does not exist yet, `{FILE}` a
        /// regular file, `{CHAINS}` a directory holding chain-1.csv and chain-2.csv.
        var arguments: [String]
        var stderr: String
        var status: Int32 = 1
        /// Also run through `mixmc fit` (data and formula problems), expecting the same message.
        var alsoFit = false
        var testDescription: String { name }
    }

    static func dataCase(_ file: String, _ formula: String, _ stderr: String) -> Case {
        Case(name: file, arguments: ["--data", "\(dir)/\(file)", "--formula", formula], stderr: stderr, alsoFit: true)
    }

    static func formulaCase(_ name: String, _ formula: String, _ stderr: String) -> Case {
        Case(name: name, arguments: ["--data", sleepstudy, "--formula", formula], stderr: stderr, alsoFit: true)
    }

    static let cases: [Case] = [
        // Malformed CSV.
        dataCase("ragged.csv", "y ~ x + (1 | g)", """
            error: \(dir)/ragged.csv:4: line 4 has 4 fields, the header has 3
              fix: check line 4 for a missing or extra comma; quote fields that contain commas

            """),
        dataCase("short-row.csv", "y ~ x + (1 | g)", """
            error: \(dir)/short-row.csv:3: line 3 has 2 fields, the header has 3
              fix: check line 3 for a missing or extra comma; quote fields that contain commas

            """),
        dataCase("unbalanced-quote.csv", "y ~ x + (1 | g)", """
            error: \(dir)/unbalanced-quote.csv:3: a quoted field opened on line 3 is never closed (unbalanced '"')
              fix: add the closing quote on line 3; write a quote inside a quoted field as ""

            """),
        dataCase("empty.csv", "y ~ x + (1 | g)", """
            error: \(dir)/empty.csv: data file is empty
              fix: the file needs a header row naming the columns, then one row per observation

            """),
        dataCase("header-only.csv", "y ~ x + (1 | g)", """
            error: \(dir)/header-only.csv: the file has a header row but no data rows
              fix: add one row per observation below the header

            """),
        dataCase("text-response.csv", "y ~ x + (1 | g)", """
            error: \(dir)/text-response.csv:4: column y is text at line 4 ('fast'); a numeric column is needed
              fix: correct the value, or write missing values as NA or an empty field

            """),
        dataCase("all-na.csv", "y ~ x + (1 | g)", """
            error: \(dir)/all-na.csv: column x has no values: every cell is NA or empty
              fix: fill in column x, or leave it out of the formula

            """),
        Case(name: "missing data file", arguments: ["--data", "\(dir)/no-such.csv", "--formula", "y ~ x + (1 | g)"],
             stderr: "error: \(dir)/no-such.csv: data file not found\n  fix: check the path (relative paths start at the current directory: \(Fixtures.repositoryRoot.path))\n",
             alsoFit: true),

        // Formulas.
        formulaCase("unclosed parenthesis", "Reaction ~ Days + (Days | Subject", """
            error: formula error: expected ')' to close '(' opened at column 19
              Reaction ~ Days + (Days | Subject
                                               ^

            """),
        formulaCase("unopened parenthesis", "Reaction ~ Days + Days | Subject)", """
            error: formula error: '|' outside parentheses; write a random-effects term as (effects | group)
              Reaction ~ Days + Days | Subject)
                                     ^

            """),
        formulaCase("unknown function", "Reaction ~ lg(Days) + (Days | Subject)", """
            error: formula error: unknown function 'lg'; the functions are: I, log, log2, log10, log1p, exp, expm1, sqrt, abs, sin, cos, tan, scale, poly, bs, ns, factor, offset (and cbind in a binomial response)
              Reaction ~ lg(Days) + (Days | Subject)
                         ^

            """),
        formulaCase("poly without a degree", "Reaction ~ poly(Days) + (1 | Subject)", """
            error: formula error: poly() takes a value and a degree, e.g. poly(x, 2) or poly(x, 2, raw = TRUE); got 1 argument
              Reaction ~ poly(Days) + (1 | Subject)
                         ^

            """),
        formulaCase("log of zero", "Reaction ~ log(Days) + (1 | Subject)", """
            error: \(sleepstudy):2: log(Days) is -Inf at line 2 (Days = 0); R would carry that NaN or Inf into the fit
              fix: correct or drop that row, or use a transformation defined there

            """),
        formulaCase("poly degree not below the distinct values", "Reaction ~ poly(Days, 10) + (1 | Subject)", """
            error: \(sleepstudy): poly(Days, 10): the degree (10) must be less than the number of distinct values of Days in the rows used (10), as R's poly() requires
              fix: lower the degree

            """),
        formulaCase("unknown column", "Reaction ~ Dayz + (Days | Subject)", """
            error: formula error: unknown column 'Dayz'; columns in \(sleepstudy) are: Reaction, Days, Subject
              Reaction ~ Dayz + (Days | Subject)
                         ^

            """),
        formulaCase("random slope on a column not in the data", "Reaction ~ Days + (Hours | Subject)", """
            error: formula error: unknown column 'Hours'; columns in \(sleepstudy) are: Reaction, Days, Subject
              Reaction ~ Days + (Hours | Subject)
                                 ^

            """),
        formulaCase("unknown grouping factor", "Reaction ~ Days + (Days | Subjekt)", """
            error: formula error: unknown column 'Subjekt'; columns in \(sleepstudy) are: Reaction, Days, Subject
              Reaction ~ Days + (Days | Subjekt)
                                        ^

            """),
        dataCase("one-level.csv", "y ~ x + (1 | g)", """
            error: formula error: grouping factor 'g' has only 1 level in the rows used; a random effect needs at least 2
              y ~ x + (1 | g)
                           ^

            """),

        // Priors files.
        Case(name: "priors: unknown key", arguments: ["models/sleepstudy", "--priors", "\(dir)/unknown-key.toml"], stderr: """
            error: \(dir)/unknown-key.toml:6: sigma.shape: unknown key 'shape'; [sigma] has one key: scale
              fix: write the half-Cauchy scale of σ as scale = 10

            """),
        Case(name: "priors: unknown table", arguments: ["models/sleepstudy", "--priors", "\(dir)/unknown-table.toml"], stderr: """
            error: \(dir)/unknown-table.toml:1: sigmas: unknown table 'sigmas'; the tables are: fixed, sigma, tau, correlation
              fix: rename it to one of those tables (see docs/priors.md)

            """),
        Case(name: "priors: negative scale", arguments: ["models/sleepstudy", "--priors", "\(dir)/negative-scale.toml"], stderr: """
            error: \(dir)/negative-scale.toml:5: tau.default.scale: scale must be positive; got -5
              fix: write a positive number, as in scale = 10

            """),

        // Flags.
        Case(name: "negative draws", arguments: ["models/sleepstudy", "--draws", "-5"],
             stderr: "Error: --draws must be at least 1; got -5\n" + sampleUsage, status: 64),
        Case(name: "negative warmup", arguments: ["models/sleepstudy", "--warmup", "-1"],
             stderr: "Error: --warmup must be 0 or more; got -1\n" + sampleUsage, status: 64),
        Case(name: "zero chains", arguments: ["models/sleepstudy", "--chains", "0"],
             stderr: "Error: --chains must be at least 1; got 0\n" + sampleUsage, status: 64),
        Case(name: "output directory under a regular file", arguments: ["models/sleepstudy", "--output", "{FILE}/out"],
             stderr: "error: {FILE}/out: cannot create the output directory: Not a directory\n"),
        Case(name: "output path is a file", arguments: ["models/sleepstudy", "--output", "{FILE}"],
             stderr: "error: {FILE}: exists and is not a directory; choose another --output\n"),
        Case(name: "output directory already holds chains", arguments: ["models/sleepstudy", "--output", "{CHAINS}"],
             stderr: "error: {CHAINS}: already holds chain files (chain-1.csv, chain-2.csv); pass --overwrite to replace them, or choose another --output\n"),
        Case(name: "one chain whose file exists", arguments: ["models/sleepstudy", "--chain", "2", "--output", "{CHAINS}"],
             stderr: "error: {CHAINS}: already holds chain files (chain-2.csv); pass --overwrite to replace them, or choose another --output\n"),
    ]

    @Test(arguments: cases)
    func sampleRefusesWithTheExactMessageAndLeavesNoOutput(_ badCase: Case) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out")
        let file = scratch.appendingPathComponent("a-file")
        try Data("not a directory\n".utf8).write(to: file)
        let chains = scratch.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        let oldChain = Data("# a chain file from an earlier run\n".utf8)
        for id in 1...2 { try oldChain.write(to: chains.appendingPathComponent("chain-\(id).csv")) }

        func substitute(_ text: String) -> String {
            text.replacingOccurrences(of: "{OUT}", with: out.path)
                .replacingOccurrences(of: "{FILE}", with: file.path)
                .replacingOccurrences(of: "{CHAINS}", with: chains.path)
        }
        var arguments = badCase.arguments.map(substitute)
        if !arguments.contains("--output") { arguments += ["--output", out.path] }
        let result = try runMixmc(["sample"] + arguments + ["--seed", "1", "--quiet"])
        #expect(result.status == badCase.status, "stderr: \(result.standardError)")
        #expect(result.standardError == substitute(badCase.stderr))
        #expect(result.standardOutput.isEmpty)
        // Nothing that looks like a run is left: no new directory, no labels.json, old chains untouched.
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(!FileManager.default.fileExists(atPath: file.appendingPathComponent("out").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: chains.path).sorted() == ["chain-1.csv", "chain-2.csv"])
        for id in 1...2 { #expect(try Data(contentsOf: chains.appendingPathComponent("chain-\(id).csv")) == oldChain) }
    }

    @Test(arguments: cases.filter(\.alsoFit))
    func fitRefusesWithTheSameMessage(_ badCase: Case) throws {
        let result = try runMixmc(["fit"] + badCase.arguments)
        #expect(result.status == badCase.status, "stderr: \(result.standardError)")
        #expect(result.standardError == badCase.stderr)
        #expect(result.standardOutput.isEmpty)
    }

    /// A well-formed file with the same columns fits, so the failures above are the files' faults.
    @Test func theGoodTwinOfTheCorpusFits() throws {
        let result = try runMixmc(["fit", "--data", "\(Self.dir)/good.csv", "--formula", "y ~ x + (1 | g)"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardOutput.contains("Number of obs: 6, groups:  g, 3"))
    }

    /// `diagnose` on paths it cannot use: a missing path, a directory without chain files, and
    /// a chain file cut in the middle of the header.
    @Test func diagnoseRefusesMissingOrUnusableInputs() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-bad-diagnose-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let missing = scratch.appendingPathComponent("no-such-dir").path
        let result = try runMixmc(["diagnose", missing])
        #expect(result.status == 1)
        #expect(result.standardError == "Error: \(missing): no such file or directory\n")
        #expect(result.standardOutput.isEmpty)

        let empty = try runMixmc(["diagnose", scratch.path])
        #expect(empty.status == 1)
        #expect(empty.standardError == "Error: \(scratch.path): directory holds no .csv files\n")
        #expect(empty.standardOutput.isEmpty)
    }
}
