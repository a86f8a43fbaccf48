/// A problem in a formula (or a formula that does not fit the data), pointing at a position.
///
/// `position` is a 0-based byte offset into `formula`. The description prints the message, the
/// formula, and a caret under the position:
///
///     formula error: expected ')' to close '(' opened at column 19
///       Reaction ~ Days + (Days | Subject
///                                        ^
public struct FormulaError: Error, CustomStringConvertible, Equatable, Sendable {
    public let formula: String
    public let position: Int
    public let message: String

    public init(formula: String, position: Int, message: String) {
        self.formula = formula
        self.position = position
        self.message = message
    }

    public var description: String {
        // Tabs and line breaks print as one space each so the caret stays under its character.
        let shown = String(formula.map { $0 == "\t" || $0.isNewline ? " " : $0 })
        let column = FormulaError.column(of: position, in: formula) - 1
        return "formula error: \(message)\n  \(shown)\n  \(String(repeating: " ", count: column))^"
    }

    /// The 1-based character column of byte offset `position` in `text` (for "column N" in messages).
    static func column(of position: Int, in text: String) -> Int {
        let utf8 = text.utf8
        let clamped = max(0, min(position, utf8.count))
        let index = utf8.index(utf8.startIndex, offsetBy: clamped)
        return text[..<index].count + 1
    }
}
