import Foundation

/// Decimal numbers read straight from bytes, giving the same double as C's `strtod` (correctly
/// rounded to nearest) without making a string.
///
/// The grammar is the one `parseNumber` accepts (R's `type.convert` numbers): an optional sign,
/// digits with at most one decimal point (`1`, `1.`, `.5`, `1.5`), and an optional exponent marker
/// `e`/`E` followed by an optional sign and at least one digit. No spaces, no `Inf`, `NaN` or
/// hexadecimal forms.
///
/// Three ways to the double, in the order fast_float (Lemire 2021, "Number parsing at a gigabyte
/// per second") tries them:
/// 1. Clinger's fast path: up to 2^53 in the digits and a power of ten from 10^-22 to 10^22 are
///    both exact doubles, so one IEEE multiplication or division rounds the exact quotient once.
/// 2. The Eisel-Lemire step for up to 19 significant digits: a 128-bit product with a truncated
///    power of five (`PowersOfFive`), which is always enough to round correctly (Mushtak and
///    Lemire 2023, "Fast number parsing without fallback").
/// 3. More than 19 significant digits: `strtod` itself, on a NUL-terminated copy of the bytes.
/// Exponents beyond 10^308 give infinity and below 10^-342 give zero, as `strtod` does (and
/// Swift's `Double(String)`, which the old reader used).
enum DecimalParser {
    /// The number at `start` (before `limit`): where the longest prefix matching the grammar ends
    /// and its value, or nil if none does (no digit before the exponent). A field holds a number
    /// only if the prefix is the whole field: the caller checks the byte at `end`.
    @inline(__always)
    static func scan(_ base: UnsafePointer<UInt8>, from start: Int, limit: Int,
                     tables: DecimalTables) -> (end: Int, value: Double)? {
        var i = start
        var negative = false
        if i < limit && (base[i] == UInt8(ascii: "-") || base[i] == UInt8(ascii: "+")) {
            negative = base[i] == UInt8(ascii: "-")
            i += 1
        }
        // Digits are accumulated modulo 2^64 and counted afterwards, as fast_float does: more than
        // 19 significant ones (rare) go to strtod.
        var mantissa: UInt64 = 0
        let integerStart = i
        accumulateDigits(base, &i, limit, &mantissa, tables)
        var digits = i - integerStart
        var exponent = 0
        if i < limit && base[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            accumulateDigits(base, &i, limit, &mantissa, tables)
            exponent = fractionStart - i
            digits -= exponent
        }
        let sawDigit = digits > 0
        var tooManyDigits = false
        if digits > 19 {
            // Leading zeros (and the point among them) are not significant.
            var j = integerStart
            while j < i && (base[j] == UInt8(ascii: "0") || base[j] == UInt8(ascii: ".")) {
                if base[j] == UInt8(ascii: "0") { digits -= 1 }
                j += 1
            }
            tooManyDigits = digits > 19
        }
        guard sawDigit else { return nil }
        if i < limit && (base[i] | 0x20) == UInt8(ascii: "e") {
            // An exponent only counts with a digit: "1e" and "1e+" end before the marker.
            var j = i + 1
            var exponentNegative = false
            if j < limit && (base[j] == UInt8(ascii: "-") || base[j] == UInt8(ascii: "+")) {
                exponentNegative = base[j] == UInt8(ascii: "-")
                j += 1
            }
            var written = 0
            var sawExponentDigit = false
            while j < limit {
                let digit = base[j] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                sawExponentDigit = true
                if written < 100_000 { written = written * 10 + Int(digit) }
                j += 1
            }
            if sawExponentDigit {
                exponent += exponentNegative ? -written : written
                i = j
            }
        }
        let value: Double
        if tooManyDigits {
            value = strtodCopy(base + start, count: i - start)
            return (i, value)
        } else if mantissa == 0 {
            value = 0
        } else if exponent >= -22 && exponent <= 22 && mantissa <= 1 << 53 {
            let exact = Double(mantissa)
            value = exponent < 0 ? exact / tables.powersOfTen[-exponent] : exact * tables.powersOfTen[exponent]
        } else {
            value = eiselLemire(mantissa, exponent, powers: tables.powersOfFive)
        }
        return (i, negative ? -value : value)
    }

    /// Reads the run of digits at `i` into `mantissa` (modulo 2^64), eight bytes at a time where
    /// eight can be read: the run's length from a word's non-digit bytes, its value by three
    /// multiplications (fast_float's `parse_eight_digits_unrolled`, on the run shifted to the top
    /// of the word so that the bytes below it act as leading zeros).
    @inline(__always)
    private static func accumulateDigits(_ base: UnsafePointer<UInt8>, _ i: inout Int, _ limit: Int, _ mantissa: inout UInt64,
                                         _ tables: DecimalTables) {
        while i + 8 <= limit {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            let digits = word &- 0x3030_3030_3030_3030
            // A byte is a digit when it and it + 6 both stay below 16; borrows and carries only
            // reach bytes after the first non-digit, which are not used.
            let nonDigits = (digits | (digits &+ 0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0
            let run = nonDigits == 0 ? 8 : nonDigits.trailingZeroBitCount >> 3
            guard run > 0 else { return }
            var value = run == 8 ? digits : digits << UInt64(8 * (8 - run))
            let mask: UInt64 = 0x0000_00FF_0000_00FF
            let hundredAndMillion: UInt64 = 0x000F_4240_0000_0064    // 100 + (1_000_000 << 32)
            let oneAndTenThousand: UInt64 = 0x0000_2710_0000_0001    // 1 + (10_000 << 32)
            value = value &* 10 &+ (value >> 8)
            let pairs = (value & mask) &* hundredAndMillion
            let quads = ((value >> 16) & mask) &* oneAndTenThousand
            value = (pairs &+ quads) >> 32
            mantissa = mantissa &* tables.smallPowersOfTen[run] &+ value
            i += run
            if run < 8 { return }
        }
        while i < limit {
            let digit = base[i] &- UInt8(ascii: "0")
            guard digit < 10 else { return }
            mantissa = mantissa &* 10 &+ UInt64(digit)
            i += 1
        }
    }

    /// The correctly rounded double nearest `w` x 10^`q` (w > 0, at most 19 digits): fast_float's
    /// `compute_float` for binary64.
    static func eiselLemire(_ w: UInt64, _ q: Int, powers: UnsafePointer<UInt64>) -> Double {
        if q < PowersOfFive.smallest { return 0 }
        if q > PowersOfFive.largest { return .infinity }
        let mantissaBits = 52
        let leadingZeros = w.leadingZeroBitCount
        let normalized = w << UInt64(leadingZeros)
        let index = 2 * (q - PowersOfFive.smallest)
        var (high, low) = normalized.multipliedFullWidth(by: powers[index])
        let precisionMask = UInt64.max >> UInt64(mantissaBits + 3)
        if high & precisionMask == precisionMask {
            let second = normalized.multipliedFullWidth(by: powers[index + 1]).high
            low = low &+ second
            if second > low { high &+= 1 }
        }
        let upperBit = Int(high >> 63)
        let shift = upperBit + 64 - mantissaBits - 3
        var mantissa = high >> UInt64(shift)
        // power(q) = floor(q log2(10)) + 63, as fast_float computes it; -1023 is binary64's minimum exponent.
        var power2 = (((152_170 + 65_536) * q) >> 16) + 63 + upperBit - leadingZeros + 1023
        if power2 <= 0 {
            // Subnormal.
            if -power2 + 1 >= 64 { return 0 }
            mantissa >>= UInt64(-power2 + 1)
            mantissa += mantissa & 1
            mantissa >>= 1
            power2 = mantissa < (1 << UInt64(mantissaBits)) ? 0 : 1
            return Double(bitPattern: UInt64(power2) << 52 | mantissa)
        }
        // Exactly half-way between two doubles: round to even (possible only for -4 <= q <= 23).
        if low <= 1 && q >= -4 && q <= 23 && mantissa & 3 == 1 && (mantissa << UInt64(shift)) == high {
            mantissa &= ~1
        }
        mantissa += mantissa & 1
        mantissa >>= 1
        if mantissa >= (2 << UInt64(mantissaBits)) {
            mantissa = 1 << UInt64(mantissaBits)
            power2 += 1
        }
        mantissa &= ~(1 << UInt64(mantissaBits))
        if power2 >= 0x7FF { return .infinity }
        return Double(bitPattern: UInt64(power2) << 52 | mantissa)
    }

    /// `strtod` of `count` bytes (which match the grammar, so it reads all of them).
    static func strtodCopy(_ bytes: UnsafePointer<UInt8>, count: Int) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer in
            let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
            raw.copyMemory(from: bytes, byteCount: count)
            buffer[count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// The value of a whole byte string if it is a number by the grammar, else nil.
    static func number(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
        guard let (end, value) = scan(base, from: 0, limit: bytes.count, tables: .shared), end == bytes.count else { return nil }
        return value
    }
}

/// The parser's constant tables, as plain pointers (no lazy-initialization check or bounds check
/// per number): allocated once and never freed.
struct DecimalTables: @unchecked Sendable {
    /// `PowersOfFive.table`.
    let powersOfFive: UnsafePointer<UInt64>
    /// 10^0 ... 10^22, each an exact double.
    let powersOfTen: UnsafePointer<Double>
    /// 10^0 ... 10^8 as integers.
    let smallPowersOfTen: UnsafePointer<UInt64>

    static let shared = DecimalTables()

    private init() {
        func copy<T>(_ values: [T]) -> UnsafePointer<T> {
            let memory = UnsafeMutablePointer<T>.allocate(capacity: values.count)
            memory.initialize(from: values, count: values.count)
            return UnsafePointer(memory)
        }
        powersOfFive = copy(PowersOfFive.table)
        powersOfTen = copy([1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22])
        smallPowersOfTen = copy([1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000] as [UInt64])
    }
}
