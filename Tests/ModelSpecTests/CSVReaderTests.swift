import Foundation
import Testing
import TestSupport
@testable import ModelSpec

/// Issue 14, item 1: the CSV reader that parses bytes in place. The typing rules and messages are
/// those of `DataTableTests`; these tests cover what is new: exact numbers, the columns read,
/// second reads of a column that turns categorical late, and large files.
private struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

private func dataError(_ body: () throws -> Void) -> DataError? {
    do { try body() } catch let error as DataError { return error } catch { return nil }
    return nil
}

private func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-\(UUID().uuidString)-\(name)").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// Decimal strings of every shape the grammar allows: up to 25 digits on either side of the
/// point, exponents to ±400 (overflow, underflow, subnormals), and doubles printed with 6, 15,
/// 17 and 20 significant digits.
private func numberTexts(count: Int, seed: UInt64) -> [String] {
    var random = SplitMix64(state: seed)
    var texts: [String] = []
    for k in 0..<count {
        if k % 2 == 0 {
            var text = ["", "-", "+", ""][random.below(4)]
            let integerDigits = random.below(26)
            for _ in 0..<integerDigits { text += String(random.below(10)) }
            if integerDigits == 0 || random.below(2) == 0 {
                text += "."
                for _ in 0..<(integerDigits == 0 ? 1 + random.below(25) : random.below(26)) { text += String(random.below(10)) }
            }
            if random.below(2) == 0 { text += ["e", "E"][random.below(2)] + ["", "-", "+"][random.below(3)] + String(random.below(401)) }
            texts.append(text)
        } else {
            let value = Double(bitPattern: random.next() % 0x7FF0_0000_0000_0000)
            texts.append(String(format: ["%.6g", "%.15g", "%.17g", "%.20g"][random.below(4)], value * (random.below(2) == 0 ? 1 : -1)))
        }
    }
    return texts
}

@Suite struct CSVReaderNumberTests {
    static let edges = ["4.9e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "2.2250738585072011e-308",
                        "2.2250738585072014e-308", "1.7976931348623157e308", "1.7976931348623158e308", "9007199254740993",
                        "9007199254740992.5", "123456789012345678", "0.1", "1e23", "8.98846567431158e307", "1e-400", "-0",
                        "7.2057594037927933e16", "9223372036854775807", "18446744073709551615", "18446744073709551616",
                        "0.000000000000000000000000000001", "100000000000000000000000", "1.", ".5", "+.5e-3", "00012"]

    /// Every number the reader parses is the double `strtod` gives for the same text, in a file
    /// (memory-mapped, the last number at the very end without a line break) and in a string.
    @Test func numbersAreTheDoublesOfStrtod() throws {
        let texts = Self.edges + numberTexts(count: 20_000, seed: 14)
        let csv = "v\n" + texts.joined(separator: "\n")
        let path = try temporaryFile("numbers.csv", Array(csv.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        for table in [try DataTable.read(path: path), try DataTable.parse(text: csv, source: "numbers.csv")] {
            let values = try #require(numericValues(table, "v"))
            #expect(values.count == texts.count)
            var mismatches: [String] = []
            for (text, value) in zip(texts, values) where text.withCString({ strtod($0, nil) }).bitPattern != value.bitPattern {
                mismatches.append(text)
            }
            #expect(mismatches.isEmpty, "not strtod's double: \(mismatches.prefix(5))")
        }
    }

    /// The same when the numbers are in a column between others (the 8-byte digit loads read past a
    /// short number into the next field) and quoted.
    @Test func numbersBetweenFieldsAndQuoted() throws {
        let texts = numberTexts(count: 2_000, seed: 7)
        let csv = "a,v,b\n" + texts.enumerated().map { "x,\($0.offset % 3 == 0 ? "\"\($0.element)\"" : $0.element),12345678" }.joined(separator: "\r\n")
        let table = try DataTable.parse(text: csv, source: "mixed.csv")
        let values = try #require(numericValues(table, "v"))
        #expect(zip(texts, values).allSatisfy { $0.withCString { strtod($0, nil) }.bitPattern == $1.bitPattern })
    }

    /// What counts as a number is unchanged: R's decimal forms, no Inf/NaN/hexadecimal, spaces
    /// only around the number, an exponent only with digits.
    @Test(arguments: [("1.", 1.0), (".5", 0.5), ("+.5e-3", 0.0005), (" 5 ", 5), ("\t-2\t", -2), ("1.e5", 100_000), ("1E+05", 100_000),
                      ("007", 7), ("-0", -0.0), ("1e400", .infinity)])
    func numbersParseNumberAccepts(_ text: String, _ value: Double) {
        #expect(parseNumber(text)?.bitPattern == value.bitPattern)
    }

    @Test(arguments: ["", ".", "-", "+", "e5", ".e5", "1e", "1e+", "1.e", "1 2", "Inf", "NaN", "nan", "0x10", "1e5.3", "--1", "+-1", "1-2",
                      "1..2", "1e5e5", "3.o", "1,5", "١", "1\u{301}"])
    func textsParseNumberRefuses(_ text: String) {
        #expect(parseNumber(text) == nil)
    }
}

@Suite struct CSVReaderColumnTests {
    /// A table read with some columns has the others' names but not their cells; every message
    /// about the file's structure is the same as for a full read.
    @Test func onlyTheRequestedColumnsAreTypedAndKept() throws {
        let text = "y,x,g,note\n1,2,a,3.o\n2,3,b,\"free, text\"\n3,4,a,\n"
        let table = try DataTable.parse(text: text, source: "some.csv", categorical: ["g"], columns: ["y", "g"])
        #expect(table.columnNames == ["y", "x", "g", "note"])
        #expect(numericValues(table, "y") == [1, 2, 3])
        #expect(factorColumn(table, "g")?.levels == ["a", "b"])
        #expect(table.column("x") == nil && table.column("note") == nil)
        #expect(dataError { _ = try table.numericColumn("x") }?.message == "column x was not read (the table was read with only some of its columns)")
        for bad in ["y,x,g\n1,2,a\n2,3\n", "y,x,g\n1,2,\"a\n2,3,b\n", "y,x,y\n1,2,3\n"] {
            let whole = dataError { _ = try DataTable.parse(text: bad, source: "bad.csv") }
            #expect(whole != nil)
            #expect(dataError { _ = try DataTable.parse(text: bad, source: "bad.csv", columns: ["y"]) } == whole)
        }
    }

    /// A column that is numbers in its first rows and text later becomes a factor as R reads it:
    /// the numbers read before the first text cell are read again as labels.
    @Test func aColumnThatTurnsCategoricalLateKeepsEveryLabel() throws {
        let late = "y,livch\n" + (0..<40).map { "\($0),\($0 < 30 ? ["0", "1", "2"][$0 % 3] : "3+")" }.joined(separator: "\n") + "\n"
        let early = "y,livch\n" + (0..<40).map { "\($0),\($0 >= 10 ? ["0", "1", "2"][$0 % 3] : "3+")" }.joined(separator: "\n") + "\n"
        let lateFactor = try #require(factorColumn(try DataTable.parse(text: late, source: "late.csv"), "livch"))
        let earlyFactor = try #require(factorColumn(try DataTable.parse(text: early, source: "early.csv"), "livch"))
        #expect(lateFactor.levels == ["0", "1", "2", "3+"] && earlyFactor.levels == lateFactor.levels)
        let expectedCodes: [Int32] = (0..<40).map { row in row < 30 ? Int32(row % 3) : 3 }
        #expect(lateFactor.codes == expectedCodes)
    }

    /// Labels are Swift strings: é written composed and decomposed is one level, spelt as first
    /// seen in the file, also when that spelling was read before the column turned categorical.
    @Test func canonicallyEqualLabelsAreOneLevelSpeltAsFirstSeen() throws {
        let decomposed = "e\u{301}", composed = "\u{E9}"
        let declared = try DataTable.parse(text: "g\n\(decomposed)\n\(composed)\nf\n", source: "e.csv", categorical: ["g"])
        let declaredExpected: [[Unicode.Scalar]] = [Array(decomposed.unicodeScalars), ["f"]]
        let declaredLevels = factorColumn(declared, "g")?.levels.map { Array($0.unicodeScalars) }
        #expect(declaredLevels == declaredExpected)
        #expect(factorColumn(declared, "g")?.codes == [0, 0, 1])
        let late = try DataTable.parse(text: "g\n1\n\(composed)\n\(decomposed)\n2\nf\n", source: "e.csv")
        let expected: [[Unicode.Scalar]] = [["1"], ["2"], Array(composed.unicodeScalars), ["f"]]
        let levels = factorColumn(late, "g")?.levels.map { Array($0.unicodeScalars) }
        #expect(levels == expected)
    }

    /// A numeric column with one typo near the top does not keep a table of its distinct values;
    /// if it ends categorical after all, the whole column is read again.
    @Test func aColumnWithManyDistinctNumbersThenTextIsReadAgainWhole() throws {
        let distinct = ColumnBuilder.internLimit + 10
        var text = "v\n3.o\n"
        for k in 0..<distinct { text += "\(k)\n" }
        // 1 % of the cells text after all: a factor.
        for k in 0..<(distinct / 99 + 1) { text += "t\(k % 7)\n" }
        let table = try DataTable.parse(text: text, source: "many.csv")
        let factor = try #require(factorColumn(table, "v"))
        #expect(factor.levels.count == distinct + 8)
        #expect(factor.levels.first == "0" && factor.levels.contains("3.o"))
        let rowZero = factor.levels[Int(factor.codes[1])]
        #expect(rowZero == "0")
    }

    /// Whole-number labels take the dense table and others the hash table; "7", "07" and "007"
    /// stay three labels, ids past the dense table's limit and other spellings still work, and the
    /// factor is the one a plain dictionary of the labels gives.
    @Test func wholeNumberLabelsAndTheirLookalikesAreDistinctLevels() throws {
        let tokens = ["7", "007", "07", "0", "00", "1048576", "1048575", "12345678", "9999999", "-1", "+1", " 7", "7 ", "a7", "NA", "",
                      "\"7\"", "70", "700", "7000000", "1", "10", "2"]
        var random = SplitMix64(state: 11)
        let cells = (0..<3_000).map { _ in tokens[random.below(tokens.count)] }
        let table = try DataTable.parse(text: "g\n" + cells.joined(separator: "\n") + "\n", source: "ids.csv", categorical: ["g"])
        let factor = try #require(factorColumn(table, "g"))
        // What the cells are after unquoting; blank lines ("") are skipped, as R does.
        let labels = cells.filter { !$0.isEmpty }.map { $0 == "\"7\"" ? "7" : $0 }
        let present = Set(labels.filter { !["NA", ""].contains($0.trimmingSpaces()) })
        let levels = Factor.sortLevels(Array(present))
        #expect(factor.levels == levels)
        let expectedCodes: [Int32] = labels.map { present.contains($0) ? Int32(levels.firstIndex(of: $0)!) : -1 }
        #expect(factor.codes == expectedCodes)
    }

    @Test func aFileThatIsNotUTF8IsRefusedAndByteOrderMarksAreDropped() throws {
        let invalid = try temporaryFile("latin1.csv", Array("y,g\n1,".utf8) + [0xE9] + Array("t\u{E9}\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: invalid) }
        #expect(dataError { _ = try DataTable.read(path: invalid) } == DataError(file: invalid, message: "data file is not UTF-8 text",
                                                                                  fix: "save the file as CSV in UTF-8 encoding"))
        let marked = try temporaryFile("bom.csv", [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("y,x\n1,2\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: marked) }
        #expect(try DataTable.read(path: marked).columnNames == ["y", "x"])
    }
}

@Suite struct UTF8CheckTests {
    /// The check accepts exactly what `String(validating:as:)` accepts and counts every quote, on
    /// mostly-ASCII byte strings (so both the 32-byte path and the character path run) with
    /// random high bytes, valid sequences and quotes mixed in, checked whole and in two blocks.
    @Test func agreesWithSwiftsUTF8Decoding() {
        var random = SplitMix64(state: 3)
        let pieces: [[UInt8]] = [[0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xED, 0x9F, 0xBF], [0xEF, 0xBB, 0xBF],
                                 [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE0, 0x80, 0x80], [0x80], [0xFF], [0xC3], [0x22]]
        for _ in 0..<5_000 {
            var bytes: [UInt8] = []
            let length = random.below(120)
            while bytes.count < length {
                if random.below(40) == 0 { bytes += pieces[random.below(pieces.count)] } else { bytes.append(UInt8(32 + random.below(90))) }
            }
            let expectedValid = String(validating: bytes, as: UTF8.self) != nil
            let expectedQuotes = bytes.filter { $0 == 0x22 }.count
            bytes.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                var whole = UTF8Check()
                whole.scan(base, from: 0, to: buffer.count)
                #expect(whole.valid == expectedValid, "\(bytes)")
                if expectedValid { #expect(whole.quotes == expectedQuotes) }
                var split = UTF8Check()
                let middle = UTF8Check.blockEnd(base, from: 0, size: buffer.count / 2, count: buffer.count)
                split.scan(base, from: 0, to: middle)
                if split.valid { split.scan(base, from: middle, to: buffer.count) }
                #expect(split.valid == expectedValid)
            }
        }
    }
}

/// Issue 14's bad input: a ten-million-line file whose column x changes from numbers to text at
/// row 9,000,000 (line 9,000,001). With a few text cells it stays numeric and the first one is
/// the error when a model uses x; with 1 % or more it becomes a factor, as R reads it, and using
/// it as a number is the error. Either way the message names the line.
@Suite struct CSVReaderLargeFileTests {
    @Test func aTypeChangeAtRowNineMillionNamesItsLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mixmc-typechange-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Rows 1 ... 8,999,999 are numbers, written as one block of 100,000 rows over and over.
        var block: [UInt8] = []
        for row in 0..<100_000 { block += Array("\(row % 1000),\(row % 10)\n".utf8) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data("y,x\n".utf8)))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        for _ in 0..<89 { try handle.write(contentsOf: block) }
        try handle.write(contentsOf: block[..<(block.count - "999,9\n".utf8.count)].map { $0 })
        // Then text from row 9,000,000 on: ten cells.
        let textRow = Array("5,low\n".utf8)
        for _ in 0..<10 { try handle.write(contentsOf: textRow) }
        try handle.synchronize()

        let start = Date()
        let stray = try DataTable.read(path: path)
        #expect(stray.rowCount == 9_000_009)
        #expect(dataError { try stray.checkCells(in: ["y", "x"]) }?.description == """
            \(path):9000001: column x is numeric but for 'low' at line 9000001 (10 of 9000009 cells not numbers)
              fix: correct the cell (write a missing value as NA), or declare x categorical (--categorical x, or categorical = ["x"] in model.toml) to read every value as a level
            """)
        let strayElapsed = Date().timeIntervalSince(start)

        // 100,000 more text rows: over 1 % of the cells, so x is a factor and the first text cell,
        // read 9 million rows after the column began, is the error.
        for _ in 0..<10_000 { try handle.write(contentsOf: Array(repeating: textRow, count: 10).flatMap { $0 }) }
        try handle.close()
        let categoricalStart = Date()
        let table = try DataTable.read(path: path, columns: ["x"])
        #expect(factorColumn(table, "x")?.levels == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "low"])
        #expect(dataError { _ = try table.numericColumn("x") }?.description == """
            \(path):9000001: column x is text at line 9000001 ('low'); a numeric column is needed
              fix: correct the value, or write missing values as NA or an empty field
            """)
        print("type change at row 9,000,000: numeric read \(String(format: "%.1f", strayElapsed)) s, categorical read \(String(format: "%.1f", Date().timeIntervalSince(categoricalStart))) s")
    }
}
