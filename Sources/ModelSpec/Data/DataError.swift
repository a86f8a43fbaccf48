/// A problem with a data file: where it is (file, line, column), what is wrong, and how to fix it.
///
/// `line` is 1-based and counts physical lines, the header being line 1; it is `nil` for problems
/// that concern the whole file (not found, empty). `column` is a column name, or `#k` (1-based)
/// when the column has no usable name.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let line: Int?
    public let column: String?
    public let message: String
    public let fix: String

    public init(file: String, line: Int? = nil, column: String? = nil, message: String, fix: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.fix = fix
    }

    /// `file:line: message` then the fix on its own line, so the first line reads like a
    /// compiler diagnostic that editors can jump to.
    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return "\(location): \(message)\n  fix: \(fix)"
    }
}
