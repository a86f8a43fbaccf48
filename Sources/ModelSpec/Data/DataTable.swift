/// A data set read from a CSV file: named, typed columns of equal length.
///
/// Built by `DataTable.read(path:categorical:)` or `DataTable.parse(text:source:categorical:)`
/// (see `DataTable+CSV.swift` for the typing rules).
public struct DataTable: Sendable {
    /// The file path (or another label for in-memory text), used in messages.
    public let source: String
    /// Column names in header order.
    public let columnNames: [String]
    public var rowCount: Int

    /// Columns in header order, parallel to `columnNames`.
    let columns: [Column]
    let columnIndex: [String: Int]
    /// Per row, the physical line of the file it came from (header = line 1), so that messages
    /// about a row can point into the file even after `subset(rows:)`.
    let rowLines: [Int]
    /// Per column position, the first cell a model cannot use (stray text in a numeric column,
    /// an infinite or huge value); `checkCells` reports it when a model uses the column.
    let cellProblems: [Int: DataError]

    init(source: String, columnNames: [String], columns: [Column], rowLines: [Int], cellProblems: [Int: DataError] = [:]) {
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
                  rowLines: Array(2 ..< 2 + rowCount))
    }

    /// The column called `name`, or nil if there is none.
    public func column(_ name: String) -> Column? {
        columnIndex[name].map { columns[$0] }
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
        let newColumns = columns.map { column -> Column in
            switch column {
            case .numeric(let values): return .numeric(rows.map { values[$0] })
            case .categorical(let factor): return .categorical(factor.subset(rows: rows))
            }
        }
        return DataTable(source: source, columnNames: columnNames, columns: newColumns,
                         rowLines: rows.map { rowLines[$0] }, cellProblems: cellProblems)
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
        switch columns[position] {
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
