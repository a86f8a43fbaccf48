#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CFloatText

/// How numbers are spelled in a Stan CSV file.
///
/// CmdStan prints with 6 significant digits by default, which loses information; we write the
/// shortest decimal string that reads back to the same `Double` (the bytes of Swift's
/// `description`, printed without allocating a `String`), so a file round-trips bit for bit. Integral values below 2^53 are written without a fraction
/// (`3`, not `3.0`), as CmdStan writes `treedepth__` and `divergent__`. Non-finite values are
/// `nan`, `inf` and `-inf`, the spelling of C++ streams that CmdStan uses and that CmdStanPy
/// (numpy), ArviZ (pandas) and R's `read.csv` all accept.
public enum StanCSVNumberFormat {
    /// Bytes `write(_:to:)` may need for one value: 24 for the longest shortest-round-trip
    /// spelling (`-2.2250738585072014e-308`), rounded up.
    public static let maximumLength = 32

    public static func format(_ value: Double) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumLength) { buffer in
            let count = write(value, to: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(start: buffer.baseAddress!, count: count), as: UTF8.self)
        }
    }

    /// Writes `format(value)`'s bytes at `destination` (room for `maximumLength` bytes) without
    /// allocating, and returns how many it wrote. The writer's hot path: one call per value.
    public static func write(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        if value.isNaN { return copy("nan", to: destination) }
        if value.isInfinite { return copy(value < 0 ? "-inf" : "inf", to: destination) }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            if value == 0 { return copy(value.sign == .minus ? "-0" : "0", to: destination) }
            return writeInteger(Int64(value), to: destination)
        }
        // The runtime's printer behind `Double.description` (same bytes), into our buffer. Its
        // Swift 6.2+ implementation leaves the leading "0" of "0.xxx" and "-0.xxx" unwritten and
        // relies on the buffer holding ASCII zeros (`description` passes such a buffer; upstream
        // later made the entry point fill it itself), so fill it first.
        destination.update(repeating: UInt8(ascii: "0"), count: maximumLength)
        return destination.withMemoryRebound(to: CChar.self, capacity: maximumLength) { chars in
            swift_float64ToString(chars, maximumLength, value, false)
        }
    }

    private static func copy(_ text: StaticString, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        destination.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        return text.utf8CodeUnitCount
    }

    /// Decimal digits of a nonzero |n| < 2⁵³, with a leading `-` when negative.
    private static func writeInteger(_ n: Int64, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        var magnitude = n.magnitude
        var digits: (UInt64, UInt64) = (0, 0)   // 16 digit bytes of scratch, filled from the end
        return withUnsafeMutableBytes(of: &digits) { scratch -> Int in
            var position = scratch.count
            while magnitude > 0 {
                position -= 1
                scratch[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            var count = 0
            if n < 0 { destination[0] = UInt8(ascii: "-"); count = 1 }
            let length = scratch.count - position
            (destination + count).update(from: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self) + position, count: length)
            return count + length
        }
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
