import Foundation

/// R's printing rules, so summaries read as lme4's `summary()` prints them.
enum RPrintFormat {
    /// R's `format(x, digits =, nsmall =)` of a numeric vector (`formatReal`): one layout for
    /// all elements. Each element needs the significant digits (at most `digits`) that show it
    /// to `digits` significant digits; fixed notation uses the largest number of decimals any
    /// element needs, and is chosen unless scientific notation is narrower (`8.299e-05`, not
    /// `0.00008299`). `nsmall` is the minimum number of decimals in fixed notation. Every string
    /// is right-justified to the common width.
    static func format(_ values: [Double], digits: Int, nsmall: Int = 0) -> [String] {
        var negative = false
        var maxLeft = Int.min, minLeft = Int.max, maxSignedLeft = Int.min, right = Int.min, maxSignificant = Int.min
        for x in values where x.isFinite {
            let (power, significant) = scientific(x, digits: digits)
            let left = power + 1
            let isNegative = x < 0
            if isNegative { negative = true }
            maxSignedLeft = max(maxSignedLeft, (isNegative ? 1 : 0) + max(left, 1))
            right = max(right, significant - left)
            maxLeft = max(maxLeft, left)
            minLeft = min(minLeft, left)
            maxSignificant = max(maxSignificant, significant)
        }
        guard maxLeft != Int.min else { return pad(values.map(nonFinite)) }
        if maxLeft < 0 { maxSignedLeft = 1 + (negative ? 1 : 0) }
        right = max(right, 0)
        let fixedWidth = maxSignedLeft + right + (right != 0 ? 1 : 0)
        let exponentDigits = (maxLeft > 100 || minLeft <= -99) ? 2 : 1
        let mantissaDecimals = maxSignificant - 1
        let scientificWidth = (negative ? 1 : 0) + (mantissaDecimals > 0 ? 1 : 0) + mantissaDecimals + 4 + exponentDigits
        if fixedWidth <= scientificWidth {
            let decimals = max(right, nsmall)
            return pad(values.map { $0.isFinite ? String(format: "%.\(decimals)f", $0) : nonFinite($0) })
        }
        return pad(values.map { $0.isFinite ? String(format: "%.\(mantissaDecimals)e", $0) : nonFinite($0) })
    }

    /// (decimal exponent, significant digits without trailing zeros) of x shown to `digits`
    /// significant digits, as R's `scientific()`.
    private static func scientific(_ x: Double, digits: Int) -> (power: Int, significant: Int) {
        let magnitude = abs(x)
        guard magnitude > 0 else { return (0, 1) }
        var power = Int(floor(log10(magnitude)))
        var scaled = (magnitude / pow(10, Double(power)) * pow(10, Double(digits - 1))).rounded()
        if scaled >= pow(10, Double(digits)) {
            scaled /= 10
            power += 1
        } else if scaled < pow(10, Double(digits - 1)) {
            scaled = (magnitude / pow(10, Double(power - 1)) * pow(10, Double(digits - 1))).rounded()
            power -= 1
        }
        var significant = digits
        var mantissa = Int64(scaled)
        while significant > 1 && mantissa % 10 == 0 {
            mantissa /= 10
            significant -= 1
        }
        return (power, significant)
    }

    private static func nonFinite(_ x: Double) -> String {
        x.isNaN ? "NaN" : (x > 0 ? "Inf" : "-Inf")
    }

    private static func pad(_ strings: [String]) -> [String] {
        let width = strings.map(\.count).max() ?? 0
        return strings.map { String(repeating: " ", count: width - $0.count) + $0 }
    }

    /// R's `round(x, digits)` (R ≥ 4.0.0's `private_fround`): of the two neighbours
    /// ⌊x·10^d⌋/10^d and ⌈x·10^d⌉/10^d the nearer to x, the even one on a tie; non-integer
    /// `digits` are rounded; −0 comes back as 0.
    static func round(_ x: Double, _ digits: Double) -> Double {
        guard x.isFinite, x != 0 else { return x == 0 ? 0 : x }
        let places = Int(floor(digits + 0.5))
        let sign: Double = x < 0 ? -1 : 1
        let magnitude = Swift.abs(x)
        if places > 0 && log10(magnitude) + Double(places) > 15 { return x }
        let scale = pow(10, Double(places))
        let scaled = magnitude * scale
        let low = floor(scaled)
        let (down, up) = (low / scale, ceil(scaled) / scale)
        let (distanceUp, distanceDown) = (up - magnitude, magnitude - down)
        let result = sign * ((distanceUp < distanceDown || (distanceUp == distanceDown && low.truncatingRemainder(dividingBy: 2) == 1)) ? up : down)
        return result == 0 ? 0 : result
    }

    static func round(_ x: Double, _ digits: Int) -> Double {
        round(x, Double(digits))
    }

    /// R's `zapsmall(x, digits)` (R 4.2): `round(x, digits − log10(max |x|))`.
    static func zapsmall(_ values: [Double], digits: Int) -> [Double] {
        let largest = values.filter(\.isFinite).map(Swift.abs).max() ?? 0
        let decimals = largest > 0 ? max(0, Double(digits) - log10(largest)) : Double(digits)
        return values.map { round($0, decimals) }
    }

    /// R's `abbreviate(names, minlength)` (method "left.kept", use.classes = TRUE): drop
    /// lower-case vowels from the right, then lower-case letters, then any character but a
    /// word's first, until `minlength` characters remain; names that collide are abbreviated
    /// again with `minlength + 1`, and so on, so the labels are distinct.
    static func abbreviate(_ names: [String], minlength: Int) -> [String] {
        var unique: [String] = []
        for name in names where !unique.contains(name) { unique.append(name) }
        var result = unique
        var redo = [Bool](repeating: true, count: unique.count)
        var length = minlength
        while true {
            for index in unique.indices where redo[index] { result[index] = stripCharacters(unique[index], minlength: length) }
            var seen: [String: Int] = [:]
            var duplicated = [Bool](repeating: false, count: unique.count)
            for (index, label) in result.enumerated() {
                if let first = seen[label] { duplicated[index] = true; duplicated[first] = true } else { seen[label] = index }
            }
            guard duplicated.contains(true) else { break }
            // R re-abbreviates the later duplicates and every name sharing their label.
            let laterDuplicates = Set(result.enumerated().filter { index, label in seen[label] != index }.map(\.element))
            redo = result.map { laterDuplicates.contains($0) }
            length += 1
        }
        return names.map { result[unique.firstIndex(of: $0)!] }
    }

    /// R's C `stripchars` on the bytes of one name.
    private static func stripCharacters(_ name: String, minlength: Int) -> String {
        var buffer = Array(name.utf8)
        func isSpace(_ i: Int) -> Bool { i >= 0 && i < buffer.count && (buffer[i] == 32 || buffer[i] == 9) }
        func isLowerVowel(_ i: Int) -> Bool { i < buffer.count && "aeiou".utf8.contains(buffer[i]) }
        func isLower(_ i: Int) -> Bool { i < buffer.count && buffer[i] >= 97 && buffer[i] <= 122 }
        func firstOfWord(_ i: Int) -> Bool { isSpace(i - 1) }
        func lastOfWord(_ i: Int) -> Bool { !isSpace(i - 1) && (i + 1 >= buffer.count || isSpace(i + 1)) }
        func remove(_ i: Int) { if i < buffer.count { buffer.remove(at: i) } }
        var spaces = 0
        func done() -> Bool { buffer.count - spaces <= minlength }
        guard buffer.count >= minlength else { return name }
        let upper = buffer.count - 1
        finished: do {
            var trailing = true
            for i in stride(from: upper, to: 0, by: -1) {
                if isSpace(i) {
                    if trailing { buffer.removeSubrange(i...) } else { spaces += 1 }
                } else {
                    trailing = false
                }
                if done() { break finished }
            }
            let passes: [(Int) -> Bool] = [
                { isLowerVowel($0) && lastOfWord($0) },
                { isLowerVowel($0) && !firstOfWord($0) },
                { isLower($0) && lastOfWord($0) },
                { isLower($0) && !firstOfWord($0) },
            ]
            for pass in passes {
                for i in stride(from: upper, to: 0, by: -1) {
                    if i < buffer.count && pass(i) { remove(i) }
                    if done() { break finished }
                }
            }
            for i in stride(from: buffer.count - 1, to: 0, by: -1) {
                if !firstOfWord(i) && !isSpace(i) { remove(i) }
                if done() { break finished }
            }
        }
        if buffer.count > minlength {
            for i in stride(from: buffer.count - 1, to: 0, by: -1) where isSpace(i) { buffer.remove(at: i) }
        }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// A character matrix printed as R's `print(m, quote = FALSE)`: a row-name column
    /// left-justified, then each column as wide as its widest cell or header, left-justified
    /// (or right-justified for `right`), one space apart.
    static func matrix(rowNames: [String], header: [String], rows: [[String]], right: Bool) -> String {
        let rowWidth = rowNames.map(\.count).max() ?? 0
        let widths = header.indices.map { c in max(header[c].count, rows.map { $0[c].count }.max() ?? 0) }
        func cell(_ text: String, _ width: Int) -> String {
            let padding = String(repeating: " ", count: width - text.count)
            return right ? padding + text : text + padding
        }
        var out = String(repeating: " ", count: rowWidth)
        for (c, title) in header.enumerated() { out += " " + cell(title, widths[c]) }
        out += "\n"
        for (name, row) in zip(rowNames, rows) {
            out += name + String(repeating: " ", count: rowWidth - name.count)
            for (c, text) in row.enumerated() { out += " " + cell(text, widths[c]) }
            out += "\n"
        }
        return out
    }
}
