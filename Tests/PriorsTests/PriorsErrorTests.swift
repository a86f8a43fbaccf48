import Testing
import TestSupport
@testable import ModelSpec

/// Every validation error, with its exact location, key path, message and fix (sleepstudy
/// design unless said otherwise).
@Suite struct PriorsErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let text: String
        let line: Int?
        let keyPath: String
        let message: String
        let fix: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "unknown top-level table", text: "[fixed]\n[sigmas]\nscale = 1\n", line: 2, keyPath: "sigmas",
             message: "unknown table 'sigmas'; the tables are: fixed, sigma, tau, correlation",
             fix: "rename it to one of those tables (see docs/priors.md)"),
        Case(name: "top-level key that is not a table", text: "sigma = 100\n", line: 1, keyPath: "sigma",
             message: "expected a table, not an integer", fix: "write [sigma] with scale = 10"),
        Case(name: "unknown fixed coefficient", text: "[fixed]\ndefault = { sd = 10 }\nDayz = { mean = 0, sd = 50 }\n", line: 3, keyPath: "fixed.Dayz",
             message: "unknown coefficient 'Dayz'; the fixed-effects coefficients are: (Intercept), Days",
             fix: "use one of those names (`Intercept` also names `(Intercept)`), or `default` for all of them"),
        Case(name: "unknown group in tau", text: "[tau.Subjekt]\nDays = { scale = 20 }\n", line: 1, keyPath: "tau.Subjekt",
             message: "unknown grouping factor 'Subjekt'; the grouping factors are: Subject",
             fix: "use one of those names (quote names with a colon: [tau.\"batch:cask\"]), or default = { scale = ... } for all of them"),
        Case(name: "unknown group in correlation", text: "\n[correlation]\nSubjects = { eta = 2 }\n", line: 3, keyPath: "correlation.Subjects",
             message: "unknown grouping factor 'Subjects'; the grouping factors are: Subject (the grouping factors with a correlation are: Subject)",
             fix: "use a grouping factor whose term has two or more coefficients, or default = { eta = ... } for all of them"),
        Case(name: "unknown coefficient of a group", text: "[tau]\ndefault = { scale = 100 }\n[tau.Subject]\nDayz = { scale = 20 }\n", line: 4, keyPath: "tau.Subject.Dayz",
             message: "unknown coefficient 'Dayz' of grouping factor 'Subject'; its coefficients are: (Intercept), Days",
             fix: "use one of those names (`Intercept` also names `(Intercept)`), or scale = ... for all of them"),
        Case(name: "zero sd", text: "[fixed]\nDays = { mean = 0, sd = 0 }\n", line: 2, keyPath: "fixed.Days.sd",
             message: "sd must be positive; got 0", fix: "write a positive number, as in sd = 10"),
        Case(name: "negative scale", text: "[tau.Subject]\nDays = { scale = -2.5 }\n", line: 2, keyPath: "tau.Subject.Days.scale",
             message: "scale must be positive; got -2.5", fix: "write a positive number, as in scale = 10"),
        Case(name: "negative eta", text: "[correlation]\nSubject = { eta = -1 }\n", line: 2, keyPath: "correlation.Subject.eta",
             message: "eta must be positive; got -1", fix: "write a positive number, as in eta = 10"),
        Case(name: "non-positive sigma scale", text: "[sigma]\n\nscale = 0.0\n", line: 3, keyPath: "sigma.scale",
             message: "scale must be positive; got 0", fix: "write a positive number, as in scale = 10"),
        Case(name: "infinite scale", text: "[sigma]\nscale = inf\n", line: 2, keyPath: "sigma.scale",
             message: "scale must be finite; got inf", fix: "write a finite number, as in scale = 10"),
        Case(name: "string for a number", text: "[sigma]\nscale = \"100\"\n", line: 2, keyPath: "sigma.scale",
             message: "scale must be a number, not a string (\"100\")", fix: "write the number without quotes, as in scale = 100"),
        Case(name: "string mean", text: "[fixed]\nDays = { mean = \"zero\", sd = 1 }\n", line: 2, keyPath: "fixed.Days.mean",
             message: "mean must be a number, not a string (\"zero\")", fix: "write the number without quotes, as in mean = 10"),
        Case(name: "boolean for a number", text: "[correlation]\ndefault = { eta = true }\n", line: 2, keyPath: "correlation.default.eta",
             message: "eta must be a number, not a boolean", fix: "write a number, as in eta = 10"),
        Case(name: "number where a prior table is expected", text: "[fixed]\nDays = 50\n", line: 2, keyPath: "fixed.Days",
             message: "expected a table, not an integer", fix: "write Days = { mean = 0, sd = 10 }"),
        Case(name: "number for a correlation entry", text: "[correlation]\nSubject = 2\n", line: 2, keyPath: "correlation.Subject",
             message: "expected a table, not an integer", fix: "write Subject = { eta = 2 }"),
        Case(name: "missing sd", text: "[fixed]\n\"(Intercept)\" = { mean = 300 }\n", line: 2, keyPath: "fixed.\"(Intercept)\"",
             message: "missing key 'sd'; a normal prior is { mean = ..., sd = ... } (mean defaults to 0)",
             fix: "add sd, as in \"(Intercept)\" = { mean = 0, sd = 10 }"),
        Case(name: "missing scale", text: "[tau]\ndefault = { }\n", line: 2, keyPath: "tau.default",
             message: "missing key 'scale'; a half-Cauchy prior is { scale = ... }", fix: "add scale, as in default = { scale = 10 }"),
        Case(name: "missing eta", text: "[correlation]\nSubject = {}\n", line: 2, keyPath: "correlation.Subject",
             message: "missing key 'eta'; an LKJ prior is { eta = ... }", fix: "add eta, as in Subject = { eta = 1 }"),
        Case(name: "missing sigma scale", text: "[sigma]\n", line: 1, keyPath: "sigma",
             message: "missing key 'scale'; σ ~ half-Cauchy(0, scale) needs its scale", fix: "add scale = 10 (any positive number) under [sigma]"),
        Case(name: "unknown key in a prior", text: "[fixed]\nDays = { mean = 0, sd = 1, df = 3 }\n", line: 2, keyPath: "fixed.Days.df",
             message: "unknown key 'df'; a normal prior has keys: mean, sd", fix: "write it as Days = { mean = 0, sd = 10 }"),
        Case(name: "unknown key in sigma", text: "[sigma]\nscale = 1\nlocation = 0\n", line: 3, keyPath: "sigma.location",
             message: "unknown key 'location'; [sigma] has one key: scale", fix: "write the half-Cauchy scale of σ as scale = 10"),
        Case(name: "scale written in [tau] itself", text: "[tau]\nscale = 10\n", line: 2, keyPath: "tau.scale",
             message: "unknown grouping factor 'scale'; the grouping factors are: Subject",
             fix: "use one of those names (quote names with a colon: [tau.\"batch:cask\"]), or default = { scale = ... } for all of them"),
        Case(name: "the first problem in file order wins", text: "[tau.Subject]\nDayz = { scale = 1 }\n[fixed]\nDayz = { sd = 1 }\n", line: 2, keyPath: "tau.Subject.Dayz",
             message: "unknown coefficient 'Dayz' of grouping factor 'Subject'; its coefficients are: (Intercept), Days",
             fix: "use one of those names (`Intercept` also names `(Intercept)`), or scale = ... for all of them"),
    ]

    @Test(arguments: cases) func validationError(_ c: Case) {
        #expect(parseError(c.text) == PriorsError(file: "priors.toml", line: c.line, keyPath: c.keyPath, message: c.message, fix: c.fix))
    }

    @Test func correlationOnASingleCoefficientTerm() {
        #expect(parseError("[correlation]\nBatch = { eta = 2 }\n", design: Designs.dyestuff) == PriorsError(
            file: "priors.toml", line: 2, keyPath: "correlation.Batch",
            message: "grouping factor 'Batch' has no correlation: its term has a single coefficient ((Intercept))",
            fix: "remove this entry; an LKJ prior applies to a term with two or more coefficients, such as (Days | Subject)"))
    }

    @Test func unknownGroupOfANestedDesignIsQuoted() {
        #expect(parseError("[tau.\"batch:casks\"]\nIntercept = { scale = 1 }\n", design: Designs.nested) == PriorsError(
            file: "priors.toml", line: 1, keyPath: "tau.\"batch:casks\"",
            message: "unknown grouping factor 'batch:casks'; the grouping factors are: cask:batch, batch",
            fix: "use one of those names (quote names with a colon: [tau.\"batch:cask\"]), or default = { scale = ... } for all of them"))
    }

    @Test func tomlSyntaxErrorHasLineAndColumn() throws {
        let error = try #require(parseError("[fixed]\nDays = { mean = 0, sd = }\n"))
        #expect(error.file == "priors.toml")
        #expect(error.line == 2)
        #expect(error.column == 25)
        #expect(error.keyPath == "")
        #expect(error.message.hasPrefix("TOML syntax error: "))
        #expect(error.fix == "check the line against TOML syntax (https://toml.io); quote keys that are not made of letters, digits, _ and -, as in \"(Intercept)\" or [tau.\"batch:cask\"]")
        // A group name with a colon must be quoted.
        let unquoted = try #require(parseError("[tau.batch:cask]\n", design: Designs.nested))
        #expect(unquoted.line == 1 && unquoted.message.hasPrefix("TOML syntax error: "))
    }

    /// Arbitrary bytes never crash the reader: each text either parses or throws a PriorsError.
    @Test func malformedTextsNeverCrash() {
        let texts = ["[", "]]", "=", "[tau.Subject", "\"", "'''", "[fixed]\n\"(Intercept) = {}", "x = [1, {a = 2}]\n[y]",
                     "[tau]\nSubject = [1, 2]\n", "[fixed]\ndefault = [ { sd = 1 } ]\n", "[[fixed]]\nsd = 1\n",
                     "[tau.Subject.Days]\nscale = 1\n", "[correlation.Subject]\neta = 2\n", "\u{0}", "[fixed]\nDays = { sd = 1979-05-27 }\n"]
        for text in texts {
            #expect(parseError(text)?.file != "unexpected", "\(text)")
        }
    }
}
