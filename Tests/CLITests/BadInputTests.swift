import ChainIO
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

        // Issue 12, items 14-17: the message names the real problem.
        dataCase("stray-quote.csv", "y ~ x + (1 | g)", """
            error: \(dir)/stray-quote.csv:6: a quoted field opened on line 6 is never closed (unbalanced '"')
              fix: add the closing quote on line 6; write a quote inside a quoted field as ""

            """),
        // Issue 14: a file cut off in its last line (no line end after it), in a field or in a quoted one.
        dataCase("truncated-last-line.csv", "y ~ x + (1 | g)", """
            error: \(dir)/truncated-last-line.csv:7: line 7 has 2 fields, the header has 3
              fix: check line 7 for a missing or extra comma; quote fields that contain commas

            """),
        dataCase("truncated-quoted-field.csv", "y ~ x + (1 | g)", """
            error: \(dir)/truncated-quoted-field.csv:7: a quoted field opened on line 7 is never closed (unbalanced '"')
              fix: add the closing quote on line 7; write a quote inside a quoted field as ""

            """),
        dataCase("semicolon.csv", "y ~ x + (1 | g)", """
            error: \(dir)/semicolon.csv:1: the header is one column 'y;x;g': the file looks semicolon-separated; mixmc reads comma-separated files
              fix: save the file as comma-separated values (CSV with ',' between fields and '.' as the decimal mark), e.g. in R: write.csv(d, "data.csv", row.names = FALSE)

            """),
        Case(name: "a CSV file where a model directory belongs", arguments: [sleepstudy],
             stderr: "error: \(sleepstudy): is a file, not a model directory; give a data file as --data \(sleepstudy) --formula \"y ~ x + (1 | g)\"\n",
             alsoFit: true),
        Case(name: "a negative seed", arguments: ["models/sleepstudy", "--seed", "-1"],
             stderr: "Error: The value '-1' is invalid for '--seed <seed>': a seed is a whole number from 0 to 18446744073709551615\nHelp:  --seed <seed>  Random seed (default: drawn at random and printed, so the run can be repeated).\n" + sampleUsage,
             status: 64),
        Case(name: "an empty output path", arguments: ["models/sleepstudy", "--output", ""],
             stderr: "Error: --output is empty; give a directory, as in --output chains/run1\n" + sampleUsage, status: 64),
        Case(name: "priors: a scale of 1e-300 (issue 12, item 5)", arguments: ["models/sleepstudy", "--priors", "\(dir)/tiny-scale.toml"], stderr: """
            error: \(dir)/tiny-scale.toml:3: sigma.scale: scale must be between 1e-100 and 1e100; got 1e-300
              fix: write the scale in the data's units, as in scale = 10

            """),

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
            error: formula error: grouping factors must have > 1 sampled level: 'g' has 1 level ('a') in the rows used
              y ~ x + (1 | g)
                           ^

            """),
        formulaCase("response on the right (issue 12, item 13)", "Reaction ~ Reaction + Days + (1 | Subject)", """
            error: formula error: the response 'Reaction' appears on the right-hand side too; a column cannot explain itself (remove it after '~')
              Reaction ~ Reaction + Days + (1 | Subject)
                         ^

            """),

        // One odd cell in a numeric column (issue 12, items 1 and 13): an error naming the cell.
        dataCase("days-typo.csv", "Reaction ~ Days + (Days | Subject)", """
            error: \(dir)/days-typo.csv:12: column Days is numeric but for '3.o' at line 12 (1 of 180 cells not numbers)
              fix: correct the cell (write a missing value as NA), or declare Days categorical (--categorical Days, or categorical = ["Days"] in model.toml) to read every value as a level

            """),
        dataCase("days-neg-inf.csv", "Reaction ~ Days + (Days | Subject)", """
            error: \(dir)/days-neg-inf.csv:22: column Days is infinite at line 22 ('-Inf'); a model needs finite values
              fix: correct the cell, or write NA to leave the row out

            """),
        dataCase("reaction-inf.csv", "Reaction ~ Days + (Days | Subject)", """
            error: \(dir)/reaction-inf.csv:5: column Reaction is infinite at line 5 ('Inf'); a model needs finite values
              fix: correct the cell, or write NA to leave the row out

            """),
        dataCase("reaction-huge.csv", "Reaction ~ Days + (Days | Subject)", """
            error: \(dir)/reaction-huge.csv:9: column Reaction holds 1e308 at line 9, too large to use (values of 1e100 or more overflow the sums of squares)
              fix: correct the cell; if such values are real, rescale the column (e.g. divide by 1e6)

            """),

        // Designs lme4 refuses (issue 12, item 3), with lme4's messages, and degenerate responses (item 4).
        dataCase("one-row-per-level.csv", "y ~ x + (1 | h)", """
            error: \(dir)/one-row-per-level.csv: number of levels of each grouping factor must be < number of observations (problems: h)
              fix: each level needs several rows: drop the term for h (one row per level is the residual's job) or group by a coarser factor

            """),
        Case(name: "more random effects than observations",
             arguments: ["--data", "\(dir)/one-row-per-level.csv", "--formula", "y ~ x + (1 + x | g) + (1 | g)"], stderr: """
            error: \(dir)/one-row-per-level.csv: number of observations (=20) <= number of random effects (=20) for term (1 + x | g); the random-effects parameters and the residual variance (or scale parameter) are probably unidentifiable
              fix: simplify the term (fewer coefficients per group, e.g. (1 | g)) or use more observations

            """, alsoFit: true),
        dataCase("constant-response.csv", "y ~ x + (1 | g)", """
            error: \(dir)/constant-response.csv: Response is constant: y is 5 in all 20 rows used; there is no variation to model
              fix: check that y is the intended response column and that the file holds the measurements

            """),
        dataCase("response-linear-in-x.csv", "y ~ x + (1 | g)", """
            error: \(dir)/response-linear-in-x.csv: the response y is an exact linear function of the fixed effects ((Intercept), x): every residual is zero, so no variance can be estimated
              fix: check that y is the measured response and not computed from the predictors

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

    /// Issue 12, item 2: a constant predictor beside the intercept is dropped with lme4's message,
    /// the same way in `fit`, `describe` and `sample`; the fit is lme4's with z0 dropped
    /// (lme4 1.1-31: REML criterion 58.15238, (Intercept) 0.7502247 (SE 0.2361349), x 0.4217256).
    @Test func aConstantPredictorIsDroppedWithLme4sMessageEverywhere() throws {
        let arguments = ["--data", "\(Self.dir)/constant-predictor.csv", "--formula", "y ~ x + z0 + (1 | g)"]
        let note = "note: fixed-effect model matrix is rank deficient so dropping 1 column / coefficient (z0)\n"
        let fit = try runMixmc(["fit"] + arguments + ["--json"])
        #expect(fit.status == 0)
        #expect(fit.standardError == note)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(fit.standardOutput.utf8)) as? [String: Any])
        let fixed = try #require(json["fixed"] as? [[String: Any]])
        #expect(fixed.map { $0["name"] as? String } == ["(Intercept)", "x"])
        #expect(abs((json["objective"] as? Double ?? 0) - 58.15238) < 1e-5)
        #expect(abs((fixed[0]["estimate"] as? Double ?? 0) - 0.7502247) < 1e-6)
        #expect(abs((fixed[0]["se"] as? Double ?? 0) - 0.2361349) < 1e-6)

        let describe = try runMixmc(["describe"] + arguments)
        #expect(describe.status == 0 && describe.standardError == note)
        #expect(describe.standardOutput.contains("Fixed effects (X: 20 x 2): (Intercept), x\n"))

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-rank-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let sample = try runMixmc(["sample"] + arguments + ["--chains", "1", "--warmup", "20", "--draws", "20", "--seed", "1", "--quiet", "--output", out.path])
        #expect(sample.status == 0, "stderr: \(sample.standardError)")
        #expect(sample.standardError.hasPrefix(note))
        let header = try String(contentsOf: out.appendingPathComponent("chain-1.csv"), encoding: .utf8)
            .split(separator: "\n").first { !$0.hasPrefix("#") }
        #expect(header?.contains("b_x") == true && header?.contains("z0") == false)
    }

    /// Issue 12, item 1: `NaN` is a missing value, dropped and counted like `NA`.
    @Test func nanCellsAreMissingValues() throws {
        let result = try runMixmc(["fit", "--data", "\(Self.dir)/days-nan.csv", "--formula", "Reaction ~ Days + (Days | Subject)"])
        #expect(result.status == 0)
        #expect(result.standardError == "note: 1 row with missing values in the model's columns dropped\n")
        #expect(result.standardOutput.contains("Number of obs: 179, groups:  Subject, 18"))
    }

    /// Issue 12, item 6: `y ~ x + (f | g)` with a 40-level factor (820 θ) is accepted, as lme4
    /// accepts it, and `fit` says up front what it is in for, then reports progress every 10 s
    /// instead of running silently (the process is stopped after the first report).
    @Test func aFitOfHundredsOfThetaReportsProgress() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-f40-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let data = scratch.appendingPathComponent("f40.csv")
        var text = "y,x,f,g\n"
        for row in 0..<2000 { text += "\(sin(Double(row) * 0.7)),\(cos(Double(row) * 1.3)),f\((row * 7919) % 40),g\(row % 20)\n" }
        try Data(text.utf8).write(to: data)
        let process = Process()
        process.executableURL = Fixtures.mixmcExecutable
        process.arguments = ["fit", "--data", data.path, "--formula", "y ~ x + (f | g)"]
        let errorPipe = Pipe(), outputPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = outputPipe
        try process.run()
        var stderr = ""
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !stderr.contains("fitting: ") {
            stderr += String(decoding: errorPipe.fileHandleForReading.availableData, as: UTF8.self)
        }
        // SIGKILL: `fit` has no handler, and a test runner may pass SIGTERM on ignored.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let lines = stderr.split(separator: "\n").map(String.init)
        #expect(lines.first == "note: the term for g has 40 coefficients per group, 820 covariance parameters (θ) to optimize: expect minutes to hours (progress every 10 s); uncorrelated effects, (… || g), have 40")
        #expect(lines.count >= 2 && lines[1].hasPrefix("fitting: ") && lines[1].contains(" evaluations of the REML criterion over 820 θ in 1"), "stderr: \(stderr)")
        #expect(outputPipe.fileHandleForReading.readDataToEndOfFile().isEmpty)
    }

    /// Issue 12, item 16: a pipe or process substitution is read like a file.
    @Test func aPipeIsReadLikeAFile() throws {
        let result = try runMixmcInBash("exec \"$0\" fit --data <(cat models/sleepstudy/data.csv) --formula 'Reaction ~ Days + (Days | Subject)'")
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("REML criterion at convergence: 1743.6"))
    }

    /// Issue 12, item 17: a data file named in model.toml is looked for relative to the model
    /// directory, and the message says so.
    @Test func aMissingDataFileOfAModelDirectoryNamesTheDirectory() throws {
        let model = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: model) }
        try Data("data = \"nodata.csv\"\nformula = \"y ~ x + (1 | g)\"\n".utf8).write(to: model.appendingPathComponent("model.toml"))
        let result = try runMixmc(["fit", model.path])
        #expect(result.status == 1)
        #expect(result.standardError == "error: \(model.path)/nodata.csv: data file not found\n  fix: check the path (relative paths start at the model directory \(model.path), where model.toml is)\n")
    }

    /// Issue 12, item 18: the same chain twice (same path, another path to it, or a copy) is
    /// refused; a file cut mid-row or without its trailer is summarized with a note.
    @Test func diagnoseRefusesDuplicateChainsAndNotesIncompleteFiles() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-dup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let run = try runMixmc(["sample", "models/sleepstudy", "--chains", "2", "--warmup", "50", "--draws", "50", "--seed", "1",
                                "--output", scratch.path, "--quiet"])
        #expect(run.status == 0)
        let one = scratch.appendingPathComponent("chain-1.csv").path
        let copy = scratch.appendingPathComponent("copy.csv").path
        try FileManager.default.copyItem(atPath: one, toPath: copy)
        let cases: [([String], String)] = [
            ([one, one], "Error: \(one) is named twice; the same chain counted twice would double the ESS: give each file once\n"),
            ([one, scratch.path + "/../" + scratch.lastPathComponent + "/chain-1.csv"],
             "Error: \(one) and \(scratch.path)/../\(scratch.lastPathComponent)/chain-1.csv are the same file; the same chain counted twice would double the ESS: give each file once\n"),
            ([one, copy], "Error: \(one) and \(copy) hold the same draws; the same chain counted twice would double the ESS: give each chain once\n"),
        ]
        for (arguments, stderr) in cases {
            let result = try runMixmc(["diagnose"] + arguments)
            #expect(result.status == 1)
            #expect(result.standardError == stderr)
            #expect(result.standardOutput.isEmpty)
        }
        // chain 2 cut in the middle of its 30th row, as a killed run leaves it.
        let two = scratch.appendingPathComponent("chain-2.csv")
        let text = try String(contentsOf: two, encoding: .utf8)
        let rows = text.split(separator: "\n", omittingEmptySubsequences: false)
        let header = rows.firstIndex { !$0.hasPrefix("#") }!
        let cut = rows[..<(header + 30)].joined(separator: "\n") + "\n" + rows[header + 30].prefix(20)
        try Data(cut.utf8).write(to: two)
        let result = try runMixmc(["diagnose", one, two.path])
        #expect(result.status == 0)
        #expect(result.standardError == """
            note: \(two.path) ends in the middle of a row (was its run killed while writing?); that row is left out
            note: \(two.path) has no timing trailer: the run that wrote it did not finish (killed, or still running); its 29 draws are used as they are

            """)
        #expect(result.standardOutput.hasPrefix("2 chain(s) x 29 draws from 2 file(s)"))
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

/// Issue 12, items 7-12: chains are never lost or mixed. Each case runs real `mixmc` processes
/// (two at once for the lock) and checks the message, the exit status and what is on disk.
@Suite(.serialized) struct ChainSafetyTests {
    static func scratch(_ tag: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-safety-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A `mixmc sample` process far too long to finish, started and left running once every
    /// chain file holds sampling draws.
    final class LongRun {
        let process = Process()
        let errorPipe = Pipe()
        let files: [URL]

        /// `chain`: run that chain alone (`--chain K`) instead of `chains` chains.
        init(output: URL, chains: Int, seed: Int, chain: Int? = nil) throws {
            process.executableURL = Fixtures.mixmcExecutable
            let which = chain.map { ["--chain", "\($0)"] } ?? ["--chains", "\(chains)"]
            process.arguments = ["sample", "models/sleepstudy"] + which + ["--warmup", "100",
                                 "--draws", "100000000", "--seed", "\(seed)", "--output", output.path, "--quiet"]
            process.currentDirectoryURL = Fixtures.repositoryRoot
            process.standardError = errorPipe
            process.standardOutput = Pipe()
            files = (chain.map { [$0] } ?? Array(1...chains)).map { output.appendingPathComponent("chain-\($0).csv") }
            try process.run()
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, !files.allSatisfy({ ((try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) ?? 0) > 20_000 }) {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }

        /// Sends `signals` (0.05 s apart), waits for the exit and returns stderr.
        func stop(with signals: [Int32]) -> String {
            for (index, signal) in signals.enumerated() {
                if index > 0 { Thread.sleep(forTimeInterval: 0.05) }
                kill(process.processIdentifier, signal)
            }
            let stderr = String(decoding: errorPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return stderr
        }
    }

    /// Items 7 and 8: a second run into a directory another run is writing is refused with the
    /// first run's PID and seed, with or without --overwrite, for all chains or one; the first
    /// run's files are untouched and it ends normally.
    @Test func aSecondRunIntoALockedDirectoryIsRefused() throws {
        let scratch = try Self.scratch("lock")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let output = scratch.appendingPathComponent("out")
        let first = try LongRun(output: output, chains: 2, seed: 1)
        let pid = first.process.processIdentifier
        let busy = "error: \(output.path): another run is writing here (mixmc sample PID \(pid), seed 1, chains 1-2); wait for it to end"
        for (extra, suffix) in [([String](), ", or choose another --output\n"),
                                (["--overwrite"], " (--overwrite never removes the files of a run still writing them), or choose another --output\n"),
                                (["--chain", "2", "--overwrite"], " (--overwrite never removes the files of a run still writing them), or choose another --output\n")] {
            let second = try runMixmc(["sample", "models/sleepstudy", "--seed", "2", "--output", output.path, "--quiet"] + extra)
            #expect(second.status == 1)
            #expect(second.standardError == busy + suffix)
            #expect(second.standardOutput.isEmpty)
        }
        let stderr = first.stop(with: [SIGINT])
        #expect(first.process.terminationStatus == 130, "stderr: \(stderr)")
        let chains = try first.files.map { try StanCSVReader.read(url: $0) }
        #expect(chains.allSatisfy { $0.config["seed"] == "1" && $0.timing != nil && !$0.droppedPartialFinalLine })
        #expect(Set(chains.map(\.drawCount)).count == 1)
        // Once the first run has ended, the lock is free: --overwrite now replaces its chains.
        let after = try runMixmc(["sample", "models/sleepstudy", "--seed", "2", "--warmup", "10", "--draws", "10",
                                  "--output", output.path, "--quiet", "--overwrite"])
        #expect(after.status == 0, "stderr: \(after.standardError)")
    }

    /// Two `--chain K` jobs with different K share a directory (docs/cluster.md); the same K twice
    /// is refused.
    @Test func chainJobsShareADirectoryButNotAChain() throws {
        let scratch = try Self.scratch("jobs")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let output = scratch.appendingPathComponent("out")
        let first = try LongRun(output: output, chains: 1, seed: 3, chain: 1)
        let other = try runMixmc(["sample", "models/sleepstudy", "--chain", "2", "--seed", "3", "--warmup", "10", "--draws", "10",
                                  "--output", output.path, "--quiet"])
        #expect(other.status == 0, "stderr: \(other.standardError)")
        let same = try runMixmc(["sample", "models/sleepstudy", "--chain", "1", "--seed", "3", "--output", output.path, "--quiet", "--overwrite"])
        #expect(same.status == 1)
        #expect(same.standardError == "error: \(output.path): another run is writing here (mixmc sample PID \(first.process.processIdentifier), seed 3, chain 1); wait for it to end (--overwrite never removes the files of a run still writing them), or choose another --output\n")
        _ = first.stop(with: [SIGTERM])
        #expect(first.process.terminationStatus == 143)
    }

    /// Item 9: a `--chain K` run of another model never joins (or relabels) a directory holding a
    /// model's chains.
    @Test func aChainOfAnotherModelIsRefused() throws {
        let scratch = try Self.scratch("model")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let output = scratch.appendingPathComponent("out")
        let first = try runMixmc(["sample", "models/sleepstudy", "--chain", "1", "--seed", "1", "--warmup", "10", "--draws", "10",
                                  "--output", output.path, "--quiet"])
        #expect(first.status == 0)
        let labels = try Data(contentsOf: output.appendingPathComponent("labels.json"))
        let dataPath = Fixtures.repositoryRoot.appendingPathComponent("models/sleepstudy/data.csv").path
        for extra in [[String](), ["--overwrite"]] {
            let other = try runMixmc(["sample", "models/dyestuff", "--chain", "2", "--seed", "1", "--output", output.path, "--quiet"] + extra)
            #expect(other.status == 1)
            #expect(other.standardError == "error: \(output.path): holds chains of another model (model sleepstudy, data \(dataPath): chain-1.csv); its labels.json differs from this model's; choose another --output\n")
        }
        #expect(try Data(contentsOf: output.appendingPathComponent("labels.json")) == labels)
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).filter { !$0.hasPrefix(".") }.sorted() == ["chain-1.csv", "labels.json"])
    }

    /// Items 11 and 12: SIGHUP (a closed terminal) stops a run as SIGTERM does, with status 129;
    /// every chain of a 4-chain run stops at the same iteration and keeps every finished draw;
    /// after a second signal the files are cut to the shortest and still agree.
    @Test(arguments: [([SIGHUP], Int32(129), "SIGHUP"), ([SIGINT], 130, "SIGINT"), ([SIGINT, SIGTERM], 130, "SIGINT")])
    func everyChainStopsAtTheSameIteration(_ signals: [Int32], _ status: Int32, _ name: String) throws {
        let scratch = try Self.scratch("stop")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let run = try LongRun(output: scratch, chains: 4, seed: 5)
        let stderr = run.stop(with: signals)
        #expect(run.process.terminationReason == .exit)
        #expect(run.process.terminationStatus == status, "stderr: \(stderr)")
        #expect(stderr.contains("interrupted (\(name)): every finished draw is in \(scratch.path)/, every chain stopped at the same iteration"))
        let chains = try run.files.map { try StanCSVReader.read(url: $0) }
        let counts = chains.map(\.drawCount)
        #expect(Set(counts).count == 1 && counts[0] > 0, "draws per chain: \(counts)")
        for (id, chain) in zip(1..., chains) {
            #expect(chain.timing != nil && !chain.droppedPartialFinalLine)
            #expect(chain.config["num_samples"] == "\(chain.drawCount)" && chain.config["num_warmup"] == "100")
            #expect(stderr.contains("chain \(id): kept \(chain.drawCount) of 100000000 draws (warmup 100 of 100)"), "stderr: \(stderr)")
        }
    }

    /// Item 10: a write that fails (here a file-size limit, `ulimit -f`; a full disk takes the same
    /// path, checked by hand on a 600 KB tmpfs) stops every chain, leaves every file ending on a
    /// whole row, cut to one iteration, and the message counts the draws kept.
    ///
    /// The chains run in parallel threads, so how far the slowest one got when the fastest hit the
    /// limit depends on scheduling: with a long warmup a lagging chain could still be in it, and
    /// every file is then rightly cut to no draws (a CI run saw that). One warmup iteration makes
    /// every chain write rows from the start, so the cut falls among draws.
    @Test func aFailedWriteLeavesWholeRowsAndCountsThem() throws {
        let scratch = try Self.scratch("full")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try runMixmcInBash("ulimit -f 200; exec \"$0\" sample models/sleepstudy --seed 1 --warmup 1 --output \"$1\" --quiet", scratch.path)
        let stderr = result.standardError
        #expect(result.status == 1, "stderr: \(stderr)")
        #expect(stderr.contains(": write failed: File too large\n"), "stderr: \(stderr)")
        #expect(stderr.contains("stopped: a write failed; every file ends on a whole row, cut to the same iteration, in \(scratch.path)/\n"))
        var counts: [Int] = []
        for id in 1...4 {
            let file = scratch.appendingPathComponent("chain-\(id).csv")
            let bytes = try Data(contentsOf: file)
            #expect(bytes.last == UInt8(ascii: "\n"))
            let chain = try StanCSVReader.read(url: file)
            #expect(!chain.droppedPartialFinalLine && chain.drawCount > 0)
            #expect(chain.config["num_samples"] == "\(chain.drawCount)")
            #expect(stderr.contains("  chain \(id): kept \(chain.drawCount) of 1000 draws"), "stderr: \(stderr)")
            counts.append(chain.drawCount)
        }
        #expect(Set(counts).count == 1, "draws per chain: \(counts)")
    }
}

/// Runs `script` with bash from the repository root, `$0` being the built `mixmc` and `$1`… the
/// arguments: for what needs a shell (process substitution, `ulimit`).
func runMixmcInBash(_ script: String, _ arguments: String...) throws -> (status: Int32, standardOutput: String, standardError: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script, Fixtures.mixmcExecutable.path] + arguments
    process.currentDirectoryURL = Fixtures.repositoryRoot
    let output = Pipe(), error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
}
