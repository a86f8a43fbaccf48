/// A problem with a priors file: where it is (file, line, column), which entry (`keyPath`), what is
/// wrong, and how to fix it.
///
/// `line` and `column` are 1-based; `line` is `nil` when the problem concerns the whole file (not
/// found, unreadable) and `column` is given only for TOML syntax errors. `keyPath` is the TOML
/// path of the entry, quoted as TOML quotes keys (`tau.Subject.Days`, `fixed."(Intercept)"`,
/// `tau."batch:cask"`), and empty for problems that are not about one entry.
public struct PriorsError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let line: Int?
    public let column: Int?
    public let keyPath: String
    public let message: String
    public let fix: String

    public init(file: String, line: Int? = nil, column: Int? = nil, keyPath: String = "", message: String, fix: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
        self.fix = fix
    }

    /// `file:line[:column]: keyPath: message`, then the fix on its own line, so the first line reads
    /// like a compiler diagnostic that editors can jump to.
    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let line, let column, line > 0 { location += ":\(column)" }
        let entry = keyPath.isEmpty ? "" : "\(keyPath): "
        return "\(location): \(entry)\(message)\n  fix: \(fix)"
    }
}
