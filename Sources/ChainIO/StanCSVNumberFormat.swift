#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How numbers are spelled in a Stan CSV file.
///
/// CmdStan prints with 6 significant digits by default, which loses information; we write the
/// shortest decimal string that reads back to the same `Double` (Swift's `description`), so a
/// file round-trips bit for bit. Integral values below 2^53 are written without a fraction
/// (`3`, not `3.0`), as CmdStan writes `treedepth__` and `divergent__`. Non-finite values are
/// `nan`, `inf` and `-inf`, the spelling of C++ streams that CmdStan uses and that CmdStanPy
/// (numpy), ArviZ (pandas) and R's `read.csv` all accept.
public enum StanCSVNumberFormat {
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            if value == 0 { return value.sign == .minus ? "-0" : "0" }
            return String(Int64(value))
        }
        return value.description
    }

    /// Parses one cell: a decimal number or any of `nan`, `NaN`, `inf`, `+inf`, `-inf`,
    /// `Infinity` (case-insensitive). Surrounding spaces are allowed; anything else is `nil`.
    public static func parse(_ text: Substring) -> Double? {
        let trimmed = text.trimmingSpaces()
        if trimmed.isEmpty { return nil }
        var bytes = Array(trimmed.utf8)
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { buffer -> Double? in
            parse(buffer.baseAddress!, count: buffer.count - 1)
        }
    }

    /// Parses `count` bytes at `start` with `strtod`. The byte at `start + count` must not be a
    /// digit, sign, letter or dot (a comma, newline or NUL is fine) so that `strtod` stops there.
    static func parse(_ start: UnsafePointer<UInt8>, count: Int) -> Double? {
        var begin = start
        var length = count
        while length > 0, begin.pointee == UInt8(ascii: " ") { begin += 1; length -= 1 }
        while length > 0, begin[length - 1] == UInt8(ascii: " ") || begin[length - 1] == UInt8(ascii: "\r") { length -= 1 }
        guard length > 0 else { return nil }
        // Hexadecimal floats are accepted by strtod but are not CSV numbers.
        for index in 0..<length where begin[index] == UInt8(ascii: "x") || begin[index] == UInt8(ascii: "X") {
            return nil
        }
        return begin.withMemoryRebound(to: CChar.self, capacity: length + 1) { chars -> Double? in
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(chars, &end)
            guard let end, end == UnsafeMutablePointer(mutating: chars) + length else { return nil }
            return value
        }
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result = result.dropLast() }
        return result
    }
}
