import Foundation
import Testing
import TestSupport
@testable import ModelSpec

/// Loads a fixture data set; grouping factors are declared categorical as the fitter does.
func fixtureTable(_ name: String, categorical: Set<String> = []) throws -> DataTable {
    try DataTable.read(path: Fixtures.url("data/\(name)").path, categorical: categorical)
}

func factorColumn(_ table: DataTable, _ name: String) -> Factor? {
    if case .categorical(let factor)? = table.column(name) { return factor }
    return nil
}

func numericValues(_ table: DataTable, _ name: String) -> [Double]? {
    if case .numeric(let values)? = table.column(name) { return values }
    return nil
}

/// Catches the `DataError` a closure throws (nil if it throws nothing or something else).
private func dataError(_ body: () throws -> Void) -> DataError? {
    do { try body() } catch let error as DataError { return error } catch { return nil }
    return nil
}

let instEvalPath = "/work/shared/data/InstEval.csv"

@Suite struct DataTableLoadingTests {
    @Test func sleepstudyTypesAndLevels() throws {
        let table = try fixtureTable("sleepstudy.csv", categorical: ["Subject"])
        #expect(table.columnNames == ["Reaction", "Days", "Subject"])
        #expect(table.rowCount == 180)
        let reaction = try #require(numericValues(table, "Reaction"))
        #expect(reaction[0] == 249.56)
        #expect(numericValues(table, "Days")?.prefix(3) == [0, 1, 2])
        let subject = try #require(factorColumn(table, "Subject"))
        #expect(subject.levels.count == 18)
        #expect(Array(subject.levels.prefix(5)) == ["308", "309", "310", "330", "331"])
        #expect(subject.codes.prefix(11) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    }

    @Test func undeclaredNumericLabelsStayNumeric() throws {
        // R's read.csv reads quoted "308" as a number; only the caller's declaration makes it a factor.
        let table = try fixtureTable("sleepstudy.csv")
        #expect(numericValues(table, "Subject")?.first == 308)
    }

    @Test func dyestuffTextColumnIsCategorical() throws {
        let table = try fixtureTable("Dyestuff.csv")
        let batch = try #require(factorColumn(table, "Batch"))
        #expect(batch.levels == ["A", "B", "C", "D", "E", "F"])
        #expect(table.rowCount == 30)
        #expect(numericValues(table, "Yield")?.first == 1545)
        let table2 = try fixtureTable("Dyestuff2.csv")
        #expect(numericValues(table2, "Yield")?.first == 7.298)
    }

    @Test func instEvalTypesAndLevels() throws {
        let table = try DataTable.read(path: instEvalPath, categorical: ["s", "d", "dept", "service"])
        #expect(table.rowCount == 73421)
        #expect(table.columnNames == ["s", "d", "studage", "lectage", "service", "dept", "y"])
        let students = try #require(factorColumn(table, "s"))
        #expect(students.levels.count == 2972)
        #expect(Array(students.levels.prefix(3)) == ["1", "2", "3"])
        let numericOrder = students.levels.compactMap { Double($0) }
        #expect(numericOrder.count == 2972 && numericOrder == numericOrder.sorted())
        #expect(factorColumn(table, "dept")?.levels.count == 14)
        #expect(factorColumn(table, "dept")?.levels.prefix(3) == ["1", "2", "3"])
        #expect(factorColumn(table, "service")?.levels == ["0", "1"])
        #expect(numericValues(table, "y")?.prefix(3) == [5, 2, 5])
        #expect(numericValues(table, "studage") != nil)
    }

    @Test func missingValuesAndCompleteRows() throws {
        let text = "y,x,g\n1,2,a\nNA,3,b\n3,,a\n4,5,NA\n5,6,\n 6 , 7 ,b\n"
        let table = try DataTable.parse(text: text, source: "inline.csv")
        let y = try #require(numericValues(table, "y"))
        #expect(y[0] == 1 && y[1].isNaN && y[5] == 6)
        let x = try #require(numericValues(table, "x"))
        #expect(x[2].isNaN && x[5] == 7)
        let g = try #require(factorColumn(table, "g"))
        #expect(g.levels == ["a", "b"])
        #expect(g.codes == [0, 1, 0, -1, -1, 1])
        #expect(table.completeRows(in: ["y", "x", "g"]) == (kept: [0, 5], dropped: 4))
        #expect(table.completeRows(in: ["x"]) == (kept: [0, 1, 3, 4, 5], dropped: 1))
        #expect(table.completeRows(in: []) == (kept: [0, 1, 2, 3, 4, 5], dropped: 0))
    }

    @Test func subsetDropsUnusedLevels() throws {
        let text = "y,g\n1,a\n2,b\n3,c\n4,b\n"
        let table = try DataTable.parse(text: text, source: "inline.csv")
        let kept = table.subset(rows: [1, 2, 3])
        #expect(kept.rowCount == 3)
        #expect(factorColumn(kept, "g") == Factor(levels: ["b", "c"], codes: [0, 1, 0]))
        #expect(numericValues(kept, "y") == [2, 3, 4])
        #expect(kept.line(ofRow: 0) == 3)
    }

    @Test func levelOrderFollowsR() {
        #expect(Factor.sortLevels(["10", "2", "-1", "1.5"]) == ["-1", "1.5", "2", "10"])
        #expect(Factor.sortLevels(["b", "B", "a", "A", "c"]) == ["a", "A", "b", "B", "c"])
        #expect(Factor.sortLevels(["Zeta", "alpha", "Beta", "10", "9"]) == ["10", "9", "alpha", "Beta", "Zeta"])
    }

    @Test func quotedFieldsWithCommasAndLineBreaks() throws {
        let text = "name,value\n\"Smith, J\",1\n\"two\nlines\",2\n\"say \"\"hi\"\"\",3\nlast,4,extra\n"
        let error = dataError { _ = try DataTable.parse(text: text, source: "q.csv") }
        // The embedded line break moves the ragged row from record 5 to line 6.
        #expect(error?.line == 6)
        let good = try DataTable.parse(text: "name,value\n\"Smith, J\",1\n\"say \"\"hi\"\"\",3\n", source: "q.csv")
        #expect(factorColumn(good, "name")?.levels == ["say \"hi\"", "Smith, J"])
        #expect(numericValues(good, "value") == [1, 3])
    }

    @Test func headerOnlyGivesZeroRows() throws {
        let table = try DataTable.parse(text: "y,x\n", source: "h.csv")
        #expect(table.rowCount == 0)
        #expect(table.columnNames == ["y", "x"])
    }

    @Test func blankLinesAndCRLF() throws {
        let table = try DataTable.parse(text: "\u{FEFF}y,x\r\n1,2\r\n\r\n3,4\r\n", source: "crlf.csv")
        #expect(table.columnNames == ["y", "x"])
        #expect(numericValues(table, "x") == [2, 4])
        #expect(table.line(ofRow: 1) == 4)
    }
}

@Suite struct DataTableErrorTests {
    @Test func missingFile() {
        let error = dataError { _ = try DataTable.read(path: "/no/such/dir/data.csv") }
        #expect(error?.message == "data file not found")
        #expect(error?.description.hasPrefix("/no/such/dir/data.csv: data file not found\n  fix: check the path") == true)
    }

    @Test func emptyFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-empty-\(UUID()).csv").path
        try Data().write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = dataError { _ = try DataTable.read(path: path) }
        #expect(error == DataError(file: path, message: "data file is empty",
                                   fix: "the file needs a header row naming the columns, then one row per observation"))
        #expect(dataError { _ = try DataTable.parse(text: "\n  \n", source: "blank.csv") }?.message == "data file is empty")
    }

    @Test func raggedRow() {
        let error = dataError { _ = try DataTable.parse(text: "a,b,c\n1,2,3\n4,5\n", source: "ragged.csv") }
        #expect(error?.description == """
            ragged.csv:3: line 3 has 2 fields, the header has 3
              fix: check line 3 for a missing or extra comma; quote fields that contain commas
            """)
    }

    @Test func duplicateHeader() {
        let error = dataError { _ = try DataTable.parse(text: "y,x,y\n1,2,3\n", source: "dup.csv") }
        #expect(error?.line == 1)
        #expect(error?.column == "y")
        #expect(error?.message == "duplicate column name 'y' (columns 1 and 3)")
    }

    @Test func unnamedColumn() {
        let error = dataError { _ = try DataTable.parse(text: "y,,z\n1,2,3\n", source: "noname.csv") }
        #expect(error?.message == "column 2 has no name in the header")
    }

    @Test func textInNumericColumn() throws {
        let table = try DataTable.parse(text: "y,x\n1,2\n2,NA\n3,abc\n4,def\n", source: "text.csv")
        let error = dataError { _ = try table.numericColumn("x") }
        #expect(error?.description == """
            text.csv:4: column x is text at line 4 ('abc'); a numeric column is needed
              fix: correct the value, or write missing values as NA or an empty field
            """)
        #expect(try table.numericColumn("y") == [1, 2, 3, 4])
        // After dropping rows the line still points into the file.
        let later = table.subset(rows: [0, 3])
        #expect(dataError { _ = try later.numericColumn("x") }?.line == 5)
    }

    @Test func declaredCategoricalIsNotNumeric() throws {
        let table = try DataTable.parse(text: "y,g\n1,2\n", source: "d.csv", categorical: ["g"])
        #expect(dataError { _ = try table.numericColumn("g") }?.message == "column g is declared categorical; a numeric column is needed")
        #expect(dataError { _ = try table.numericColumn("nope") }?.message == "no column 'nope'; columns are: y, g")
    }
}

/// Issue 12, item 1: one odd cell never turns a numeric column into a factor silently.
@Suite struct DataTableCellTypingTests {
    /// 200 rows of numbers with one cell replaced; the column the CSV reader makes of it.
    static func table(with cell: String, categorical: Set<String> = []) throws -> DataTable {
        var text = "y,x\n"
        for row in 0..<200 { text += "\(row),\(row == 42 ? cell : String(row % 10))\n" }
        return try DataTable.parse(text: text, source: "cells.csv", categorical: categorical)
    }

    @Test(arguments: ["3.o", "-Inf", "Inf", "1e308"])
    func oneOddCellKeepsTheColumnNumericAndIsReportedWhenUsed(_ cell: String) throws {
        let table = try Self.table(with: cell)
        #expect(numericValues(table, "x") != nil)
        let error = dataError { try table.checkCells(in: ["y", "x"]) }
        #expect(error?.line == 44)
        #expect(error?.column == "x")
        #expect(error?.message.contains("'\(cell)'") == true || error?.message.contains(cell) == true)
        // A column no model uses is not in the way.
        #expect(dataError { try table.checkCells(in: ["y"]) } == nil)
    }

    @Test func typoMessageNamesTheCellAndBothFixes() throws {
        let error = dataError { try Self.table(with: "3.o").checkCells(in: ["x"]) }
        #expect(error?.description == """
            cells.csv:44: column x is numeric but for '3.o' at line 44 (1 of 200 cells not numbers)
              fix: correct the cell (write a missing value as NA), or declare x categorical (--categorical x, or categorical = ["x"] in model.toml) to read every value as a level
            """)
    }

    @Test func declaredCategoricalReadsTheOddCellAsALevel() throws {
        let table = try Self.table(with: "3.o", categorical: ["x"])
        #expect(factorColumn(table, "x")?.levels.count == 11)
        #expect(dataError { try table.checkCells(in: ["x"]) } == nil)
    }

    @Test func nanIsMissing() throws {
        let table = try Self.table(with: "NaN")
        #expect(numericValues(table, "x")?[42].isNaN == true)
        #expect(dataError { try table.checkCells(in: ["x"]) } == nil)
        #expect(table.completeRows(in: ["y", "x"]).dropped == 1)
    }

    /// One typo in a small file is caught as in a large one; two text cells in twenty make a factor,
    /// as R reads them.
    @Test func oneTypoInASmallFileIsCaughtTwoTextCellsMakeAFactor() throws {
        let one = try DataTable.parse(text: "y,x\n" + (0..<20).map { "\($0),\($0 == 7 ? "3.o" : String($0 % 5))" }.joined(separator: "\n") + "\n",
                                      source: "small.csv")
        #expect(numericValues(one, "x") != nil)
        #expect(dataError { try one.checkCells(in: ["x"]) }?.message == "column x is numeric but for '3.o' at line 9 (1 of 20 cells not numbers)")
        let two = try DataTable.parse(text: "y,x\n" + (0..<20).map { "\($0),\($0 % 10 == 7 ? "low" : String($0 % 5))" }.joined(separator: "\n") + "\n",
                                      source: "small.csv")
        #expect(factorColumn(two, "x") != nil)
    }

    /// mlmRev's Contraception `livch` (0, 1, 2, 3+): a factor with numeric-looking labels, read as
    /// R reads it, 4 levels in R's order.
    @Test func aFactorWithNumericLookingLabelsStaysAFactor() throws {
        let text = "y,livch\n" + (0..<40).map { "\($0),\(["0", "1", "2", "3+"][$0 % 4])" }.joined(separator: "\n") + "\n"
        let table = try DataTable.parse(text: text, source: "contraception.csv")
        #expect(factorColumn(table, "livch")?.levels == ["0", "1", "2", "3+"])
        #expect(dataError { try table.checkCells(in: ["livch"]) } == nil)
    }
}
