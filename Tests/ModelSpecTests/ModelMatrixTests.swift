import Linalg
import Testing
import TestSupport
@testable import ModelSpec

/// Builds the fixed-effects model matrix of `formulaText` on `table`, as the fitter will.
private func fixedMatrix(_ formulaText: String, _ table: DataTable) throws -> ModelMatrix {
    let formula = try Formula.parse(formulaText)
    return try ModelMatrix.build(intercept: formula.fixedIntercept, terms: formula.fixedTerms, data: table, formula: formula)
}

private func column(_ model: ModelMatrix, _ j: Int) -> [Double] {
    (0..<model.matrix.rows).map { model.matrix[$0, j] }
}

/// A small table with a 3-level factor f (a, b, c), a 2-level factor g (A, B) and a covariate x.
private func smallTable() throws -> DataTable {
    try DataTable.parse(text: """
        y,x,f,g
        1,0.5,a,A
        2,1.5,b,B
        3,2.5,c,A
        4,3.5,b,A
        5,4.5,a,B
        """, source: "small.csv")
}

@Suite struct ModelMatrixTests {
    @Test func sleepstudyDays() throws {
        let table = try fixtureTable("sleepstudy.csv", categorical: ["Subject"])
        let model = try fixedMatrix("Reaction ~ Days + (Days | Subject)", table)
        #expect(model.columnNames == ["(Intercept)", "Days"])
        #expect(model.matrix.rows == 180 && model.matrix.columns == 2)
        #expect(column(model, 0) == Array(repeating: 1, count: 180))
        #expect(column(model, 1) == numericValues(table, "Days"))
        #expect(Array(column(model, 1).prefix(11)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0])
    }

    @Test func factorWithInterceptDropsBaseline() throws {
        let table = try fixtureTable("Dyestuff.csv")
        let model = try fixedMatrix("Yield ~ Batch", table)
        #expect(model.columnNames == ["(Intercept)", "BatchB", "BatchC", "BatchD", "BatchE", "BatchF"])
        // Rows 0-4 are batch A (baseline), rows 5-9 batch B.
        #expect((0..<6).map { model.matrix[0, $0] } == [1, 0, 0, 0, 0, 0])
        #expect((0..<6).map { model.matrix[5, $0] } == [1, 1, 0, 0, 0, 0])
        #expect((0..<6).map { model.matrix[29, $0] } == [1, 0, 0, 0, 0, 1])
    }

    @Test func noInterceptGivesFullDummyCoding() throws {
        let table = try smallTable()
        let model = try fixedMatrix("y ~ 0 + f", table)
        #expect(model.columnNames == ["fa", "fb", "fc"])
        #expect(model.matrix == Matrix([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]]))
        // R: only the first factor gets full coding; g keeps its baseline dropped.
        let two = try fixedMatrix("y ~ 0 + f + g", table)
        #expect(two.columnNames == ["fa", "fb", "fc", "gB"])
        // Random-effects style call: (0 + f | group) builds f without intercept.
        let formula = try Formula.parse("y ~ (0 + f | g)")
        let randomTerm = try #require(formula.randomTerms.first)
        let random = try ModelMatrix.build(intercept: randomTerm.intercept, terms: randomTerm.effects, data: table, formula: formula)
        #expect(random.columnNames == ["fa", "fb", "fc"])
    }

    @Test func numericByFactorInteraction() throws {
        let table = try smallTable()
        let full = try fixedMatrix("y ~ x * f", table)
        #expect(full.columnNames == ["(Intercept)", "x", "fb", "fc", "x:fb", "x:fc"])
        #expect(column(full, 4) == [0, 1.5, 0, 3.5, 0])
        // Without the main effect of f, R codes f by dummies inside x:f.
        let slopes = try fixedMatrix("y ~ x:f", table)
        #expect(slopes.columnNames == ["(Intercept)", "x:fa", "x:fb", "x:fc"])
        #expect(column(slopes, 1) == [0.5, 0, 0, 0, 4.5])
        // Variables keep formula order: f first here.
        let swapped = try fixedMatrix("y ~ f + f:x", table)
        #expect(swapped.columnNames == ["(Intercept)", "fb", "fc", "fa:x", "fb:x", "fc:x"])
    }

    @Test func factorByFactorFirstVariesFastest() throws {
        let table = try smallTable()
        let model = try fixedMatrix("y ~ f * g", table)
        #expect(model.columnNames == ["(Intercept)", "fb", "fc", "gB", "fb:gB", "fc:gB"])
        #expect(column(model, 4) == [0, 1, 0, 0, 0])
    }

    @Test func sleepstudyDaysBySubject() throws {
        let table = try fixtureTable("sleepstudy.csv", categorical: ["Subject"])
        let model = try fixedMatrix("Reaction ~ Days * Subject", table)
        #expect(model.matrix.columns == 36)
        #expect(Array(model.columnNames.prefix(4)) == ["(Intercept)", "Days", "Subject309", "Subject310"])
        #expect(model.columnNames[19] == "Days:Subject309")
        #expect(model.columnNames.last == "Days:Subject372")
    }

    @Test func instEvalService() throws {
        let table = try DataTable.read(path: instEvalPath, categorical: ["s", "d", "dept", "service"])
        let model = try fixedMatrix("y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)", table)
        #expect(model.columnNames == ["(Intercept)", "service1"])
        #expect(model.matrix.rows == 73421)
        let service = try #require(factorColumn(table, "service"))
        let ones = service.codes.filter { $0 == 1 }.count
        #expect(column(model, 1).reduce(0, +) == Double(ones))
        #expect(model.matrix[0, 1] == 0 && model.matrix[1, 1] == 1)
    }

    @Test func interceptOnlyAndEmpty() throws {
        let table = try smallTable()
        #expect(try fixedMatrix("y ~ 1", table).columnNames == ["(Intercept)"])
        let empty = try ModelMatrix.build(intercept: false, terms: [], data: table, formula: try Formula.parse("y ~ 0"))
        #expect(empty.matrix.columns == 0 && empty.matrix.rows == 5)
    }

    @Test func nonSyntacticNamesAreQuoted() throws {
        let table = try DataTable.parse(text: "y,my x,grp\n1,2,a\n2,3,b\n", source: "q.csv")
        #expect(try fixedMatrix("y ~ `my x` * grp", table).columnNames == ["(Intercept)", "`my x`", "grpb", "`my x`:grpb"])
    }

    @Test func unknownColumnPointsIntoFormula() throws {
        let table = try fixtureTable("sleepstudy.csv", categorical: ["Subject"])
        do {
            _ = try fixedMatrix("Reaction ~ Dayz + (1 | Subject)", table)
            Issue.record("expected an error")
        } catch let error as FormulaError {
            #expect(error.description == """
                formula error: unknown column 'Dayz'; columns in sleepstudy.csv are: Reaction, Days, Subject
                  Reaction ~ Dayz + (1 | Subject)
                             ^
                """)
        }
    }

    @Test func missingValueIsAnErrorNotACrash() throws {
        let table = try DataTable.parse(text: "y,x\n1,2\n2,NA\n", source: "na.csv")
        do {
            _ = try fixedMatrix("y ~ x", table)
            Issue.record("expected an error")
        } catch let error as DataError {
            #expect(error.line == 3)
            #expect(error.message == "column x has a missing value at line 3")
        }
        let complete = table.subset(rows: table.completeRows(in: ["y", "x"]).kept)
        #expect(try fixedMatrix("y ~ x", complete).matrix == Matrix([[1, 2]]))
    }

    @Test func singleLevelFactorNeedingContrastsIsAnError() throws {
        let table = try DataTable.parse(text: "y,f\n1,a\n2,a\n", source: "one.csv")
        #expect(throws: FormulaError.self) { try fixedMatrix("y ~ f", table) }
        #expect(try fixedMatrix("y ~ 0 + f", table).columnNames == ["fa"])
    }
}
