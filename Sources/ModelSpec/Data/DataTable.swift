/// A data set read from a CSV file: named, typed columns of equal length.
///
/// Built by `DataTable.read(path:categorical:columns:relativeTo:)` or
/// `DataTable.parse(text:source:categorical:columns:)` (see `DataTable+CSV.swift` for the typing
/// rules). A table read with `columns` holds only those columns; the others keep their names in
/// `columnNames` (for messages) but `column(_:)` gives nil for them.
public struct DataTable: Sendable {
    /// The file path (or another label for in-memory text), used in messages.
    public let source: String
    /// Column names in header order, including columns that were not read.
    public let columnNames: [String]
    public var rowCount: Int

    /// Columns in header order, parallel to `columnNames`; nil for a column not read.
    let columns: [Column?]
    let columnIndex: [String: Int]
    /// Per row, the physical line of the file it came from (header = line 1), so that messages
    /// about a row can point into the file even after `subset(rows:)`.
    let rowLines: RowLines
    /// Per column position, the first cell a model cannot use (stray text in a numeric column,
    /// an infinite or huge value); `checkCells` reports it when a model uses the column.
    let cellProblems: [Int: DataError]

    init(source: String, columnNames: [String], columns: [Column?], rowLines: RowLines, cellProblems: [Int: DataError] = [:]) {
        self.source = source
        self.columnNames = columnNames
        self.columns = columns
        self.rowLines = rowLines
        self.cellProblems = cellProblems
        self.rowCount = rowLines.count
        var index: [String: Int] = [:]
        for (position, name) in columnNames.enumerated() { index[name] = position }
        self.columnIndex = index
    }

    /// A table built in memory (simulations, benchmarks): named columns of equal length, row i
    /// reported as line i + 2 (as if read from a file with a header row).
    public init(source: String, columns named: [(name: String, column: Column)]) {
        let rowCount = named.first?.column.count ?? 0
        precondition(named.allSatisfy { $0.column.count == rowCount }, "columns of a table have equal length")
        self.init(source: source, columnNames: named.map(\.name), columns: named.map(\.column),
                  rowLines: RowLines(first: 2, count: rowCount))
    }

    /// The column called `name`, or nil if there is none (or it was not read).
    public func column(_ name: String) -> Column? {
        columnIndex[name].flatMap { columns[$0] }
    }

    /// The line in the source file that row `row` (0-based) came from.
    public func line(ofRow row: Int) -> Int {
        rowLines[row]
    }

    /// The file name without its directory, for short messages ("columns in sleepstudy.csv are: …").
    public var sourceName: String {
        source.split(separator: "/").last.map(String.init) ?? source
    }

    /// Rows (0-based) where none of `columns` is missing, and how many rows were dropped.
    /// Names that are not columns are ignored: the formula stage reports unknown columns with a
    /// caret under the name, which is the more useful message.
    public func completeRows(in columns: [String]) -> (kept: [Int], dropped: Int) {
        let present = columns.compactMap { column($0) }
        // The usual case, nothing missing, without testing each row of each column in turn.
        if !present.contains(where: \.hasMissing) { return (Array(0..<rowCount), 0) }
        var kept: [Int] = []
        kept.reserveCapacity(rowCount)
        for row in 0..<rowCount where !present.contains(where: { $0.isMissing(row) }) {
            kept.append(row)
        }
        return (kept, rowCount - kept.count)
    }

    /// A new table with only `rows` (in the given order); factor levels that no longer occur are
    /// dropped, as lme4 does with its model frame, so that no empty level gets a column or a
    /// random effect.
    public func subset(rows: [Int]) -> DataTable {
        let newColumns = columns.map { column -> Column? in
            switch column {
            case .numeric(let values)?: return .numeric(rows.map { values[$0] })
            case .categorical(let factor)?: return .categorical(factor.subset(rows: rows))
            case nil: return nil
            }
        }
        return DataTable(source: source, columnNames: columnNames, columns: newColumns,
                         rowLines: RowLines(listed: rows.map { rowLines[$0] }), cellProblems: cellProblems)
    }

    /// Throws the first unusable cell (in `columns` order) of the columns a model uses: text
    /// among numbers, an infinite value, or one too large to square (see `DataTable+CSV.swift`).
    /// Call it before `completeRows`, so that a typo never becomes a silently dropped row.
    public func checkCells(in columns: [String]) throws {
        for name in columns {
            if let position = columnIndex[name], let problem = cellProblems[position] { throw problem }
        }
    }

    /// The values of a numeric column (for a response, an offset or a covariate).
    ///
    /// Throws a `DataError` if the column does not exist, or if it is categorical: for a column
    /// that holds text, the error names the first line with a non-numeric value and quotes it;
    /// for a column declared categorical whose values are all numbers, it says so.
    public func numericColumn(_ name: String) throws -> [Double] {
        guard let position = columnIndex[name] else {
            throw DataError(file: source, column: name,
                            message: "no column '\(name)'; columns are: \(columnNames.joined(separator: ", "))",
                            fix: "check the spelling against the header row")
        }
        guard let column = columns[position] else {
            throw DataError(file: source, column: name,
                            message: "column \(name) was not read (the table was read with only some of its columns)",
                            fix: "include '\(name)' in the columns to read")
        }
        switch column {
        case .numeric(let values):
            return values
        case .categorical(let factor):
            let isText = factor.levels.map { parseNumber($0) == nil }
            for (row, code) in factor.codes.enumerated() where code >= 0 && isText[Int(code)] {
                let value = factor.levels[Int(code)]
                throw DataError(file: source, line: rowLines[row], column: name,
                                message: "column \(name) is text at line \(rowLines[row]) ('\(value)'); a numeric column is needed",
                                fix: "correct the value, or write missing values as NA or an empty field")
            }
            throw DataError(file: source, column: name,
                            message: "column \(name) is declared categorical; a numeric column is needed",
                            fix: "do not declare '\(name)' categorical, or use it only as a factor")
        }
    }
}

/// The file line of each row: a first line and a count while rows sit on consecutive lines (the
/// usual file, 8 bytes a row saved), else a list.
struct RowLines: Sendable {
    private let first: Int
    private let listed: [Int]?
    let count: Int

    init(first: Int, count: Int) {
        self.first = first
        self.count = count
        listed = nil
    }

    init(listed: [Int]) {
        first = 0
        count = listed.count
        self.listed = listed
    }

    subscript(row: Int) -> Int {
        precondition(row >= 0 && row < count, "row out of range")
        return listed?[row] ?? first + row
    }
}
