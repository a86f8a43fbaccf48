import Foundation

/// Reading CSV files into a `DataTable`.
///
/// Typing rules, chosen to match what R's `read.csv` followed by lme4 would see:
/// - The first row is the header; the other rows are data. Blank lines are skipped, as R does.
/// - A cell is **missing** if it is empty, `NA` or `NaN` (surrounding spaces ignored).
/// - A column is **numeric** if every non-missing cell is a decimal number (`parseNumber`) or
///   `Inf`/`-Inf`; quotes do not matter (R's `read.csv` reads `"308"` as a number too).
/// - A column is **numeric with stray text** if fewer than 1 % of its non-missing cells are not
///   numbers, or only one of ten or more is (a typo such as `3.o` among numbers): it is kept
///   numeric, and using it in a model is an error naming the first such cell
///   (`DataTable.checkCells`), never a silent factor.
/// - A column is **categorical** if more of its non-missing cells are not numbers (R's
///   `read.csv` would make it a factor too: mlmRev's `livch` with `0`, `1`, `2`, `3+`), or if the
///   caller lists it in `categorical` (grouping factors, or columns a model file declares as
///   factors). Its levels are ordered by `Factor.sortLevels`, which reproduces R's level order.
/// - Infinite cells, and finite ones of magnitude `CellProblem.largestMagnitude` or more, are
///   kept in numeric columns and reported by `checkCells` when a model uses the column.
extension DataTable {
    /// Reads a CSV file with a header row. See the extension's comment for the typing rules.
    /// `categorical`: columns the caller declares categorical even if their values are numbers;
    /// names that are not columns are ignored (the formula stage reports unknown names).
    /// `columns`: the only columns to type and keep (nil: all). The other columns are still split
    /// and checked (field counts, quotes, UTF-8), so a file gives the same messages either way,
    /// but their cells are neither parsed nor stored.
    /// Throws `DataError` for a missing, unreadable or empty file and for malformed contents.
    /// `relativeTo` says where a relative `path` starts, for the message when the file is missing
    /// (a model directory for model.toml's `data`); the current directory by default.
    /// Any readable stream is read: a pipe or process substitution (`--data <(zcat d.csv.gz)`)
    /// as well as a file. A regular file is memory-mapped (`InputBytes`), a stream read whole.
    public static func read(path: String, categorical: Set<String> = [], columns: Set<String>? = nil,
                            relativeTo base: String? = nil) throws -> DataTable {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let start = base ?? "the current directory: \(FileManager.default.currentDirectoryPath)"
            throw DataError(file: path, message: "data file not found",
                            fix: "check the path (relative paths start at \(start))")
        }
        guard !isDirectory.boolValue else {
            throw DataError(file: path, message: "is a directory, not a data file",
                            fix: "give the path of a CSV file")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw DataError(file: path, message: "data file cannot be read (\(reason))",
                            fix: errno == EACCES ? "check the file's permissions" : "check that the path names a readable file")
        }
        defer { close(descriptor) }
        let input: InputBytes
        do {
            input = try InputBytes(descriptor: descriptor)
        } catch {
            throw DataError(file: path, message: "data file cannot be read (\(error.reason))",
                            fix: "check that the path names a readable file")
        }
        guard let bytes = input.base else { throw CSVParser.empty(path) }
        // Up to two byte-order marks go, as before: Foundation's UTF-8 decoding dropped one and
        // the parser the next.
        var parser = CSVParser(base: bytes, count: input.count, source: path, input: input)
        return try parser.table(from: byteOrderMarks(bytes, count: input.count, upTo: 2), categorical: categorical,
                                columns: columns, requireUTF8: true)
    }

    /// Parses CSV text with a header row; `source` names the text in messages. `categorical` and
    /// `columns` as for `read(path:categorical:columns:relativeTo:)`.
    public static func parse(text: String, source: String, categorical: Set<String> = [], columns: Set<String>? = nil) throws -> DataTable {
        var text = text
        return try text.withUTF8 { utf8 in
            guard let bytes = utf8.baseAddress, !utf8.isEmpty else { throw CSVParser.empty(source) }
            var parser = CSVParser(base: bytes, count: utf8.count, source: source, input: nil)
            // A UTF-8 byte-order mark (spreadsheet exports) would otherwise end up in the first name.
            return try parser.table(from: byteOrderMarks(bytes, count: utf8.count, upTo: 1), categorical: categorical,
                                    columns: columns, requireUTF8: false)
        }
    }

    /// The length of the UTF-8 byte-order marks (EF BB BF) at the start, at most `limit` of them.
    private static func byteOrderMarks(_ bytes: UnsafePointer<UInt8>, count: Int, upTo limit: Int) -> Int {
        var start = 0
        for _ in 0..<limit where start + 3 <= count && bytes[start] == 0xEF && bytes[start + 1] == 0xBB && bytes[start + 2] == 0xBF {
            start += 3
        }
        return start
    }
}

/// A cell of a numeric column that a model cannot use; reported by `DataTable.checkCells` only
/// when a model uses the column, so that a stray cell in an unused column does not get in the way.
struct CellProblem {
    enum Kind {
        /// Text among numbers: `cells` text cells of `of` non-missing ones (fewer than 1 %).
        case text(cells: Int, of: Int)
        case infinite
        case tooLarge
    }

    /// Values at least this large in magnitude are refused: the cross-products square them and
    /// their sums overflow long before 1e308, and no measurement is that large.
    static let largestMagnitude = 1e100

    let row: Int
    let text: String
    let kind: Kind

    func error(file: String, line: Int, column: String) -> DataError {
        switch kind {
        case .text(let cells, let present):
            return DataError(file: file, line: line, column: column,
                             message: "column \(column) is numeric but for '\(text)' at line \(line) (\(cells) of \(present) cells not numbers)",
                             fix: "correct the cell (write a missing value as NA), or declare \(column) categorical (--categorical \(column), or categorical = [\"\(column)\"] in model.toml) to read every value as a level")
        case .infinite:
            return DataError(file: file, line: line, column: column,
                             message: "column \(column) is infinite at line \(line) ('\(text)'); a model needs finite values",
                             fix: "correct the cell, or write NA to leave the row out")
        case .tooLarge:
            return DataError(file: file, line: line, column: column,
                             message: "column \(column) holds \(text) at line \(line), too large to use (values of 1e100 or more overflow the sums of squares)",
                             fix: "correct the cell; if such values are real, rescale the column (e.g. divide by 1e6)")
        }
    }
}
