import Foundation

/// The bytes of a data file: memory-mapped when it is a regular file, read whole otherwise (a
/// pipe or process substitution, `--data <(zcat d.csv.gz)`, cannot be mapped).
///
/// The reader goes through the mapping once, front to back, and hands the pages behind it back
/// (`release(upTo:)`), so a large file does not stay in the process's resident memory; touching a
/// released page again reads it back from the page cache.
final class InputBytes {
    let base: UnsafePointer<UInt8>?
    let count: Int
    private let mapped: Bool
    private var released = 0

    /// Reads or maps the open file `descriptor` (which the caller closes); throws the `errno` of a
    /// failed read.
    init(descriptor: Int32) throws(InputError) {
        var status = stat()
        if fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG {
            let size = Int(status.st_size)
            if size == 0 {
                (base, count, mapped) = (nil, 0, false)
                return
            }
            if let memory = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), memory != MAP_FAILED {
                _ = madvise(memory, size, MADV_SEQUENTIAL)
                (base, count, mapped) = (UnsafePointer(memory.assumingMemoryBound(to: UInt8.self)), size, true)
                return
            }
        }
        var capacity = 1 << 20
        var length = 0
        var memory = malloc(capacity)!
        while true {
            if length == capacity {
                capacity *= 2
                guard let grown = realloc(memory, capacity) else { fatalError("out of memory reading a data file") }
                memory = grown
            }
            let got = read(descriptor, memory + length, capacity - length)
            if got < 0 {
                if errno == EINTR { continue }
                let code = errno
                Foundation.free(memory)
                throw InputError(code: code)
            }
            if got == 0 { break }
            length += got
        }
        (base, count, mapped) = (UnsafePointer(memory.assumingMemoryBound(to: UInt8.self)), length, false)
    }

    /// Lets the kernel drop the mapped pages before `offset` from this process's memory.
    func release(upTo offset: Int) {
        guard mapped, let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = offset / page * page
        guard end > released else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + released), end - released, MADV_DONTNEED)
        released = end
    }

    deinit {
        guard let base else { return }
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            Foundation.free(UnsafeMutableRawPointer(mutating: base))
        }
    }
}

/// A failed `read(2)`, with its `errno`.
struct InputError: Error {
    let code: Int32
    var reason: String { String(cString: strerror(code)) }
}

/// Checks that bytes are UTF-8 (as `String(data:encoding: .utf8)` would accept them: no overlong
/// forms, surrogates or values past U+10FFFF) and counts the double quotes, block by block.
struct UTF8Check {
    private(set) var valid = true
    private(set) var quotes = 0

    /// Checks `[start, end)`; `end` must be the start of a character (not a continuation byte) or
    /// the end of the input, so that no valid sequence is split between two calls.
    mutating func scan(_ base: UnsafePointer<UInt8>, from start: Int, to end: Int) {
        var i = start
        let raw = UnsafeRawPointer(base)
        var quoteCount = 0
        while i < end {
            // 32 bytes at a time while they are ASCII (no high bit in the four words or'ed together).
            while i + 32 <= end {
                let w0 = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let w1 = raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                let w2 = raw.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
                let w3 = raw.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
                guard (w0 | w1 | w2 | w3) & 0x8080_8080_8080_8080 == 0 else { break }
                quoteCount += Self.quotes(w0) + Self.quotes(w1) + Self.quotes(w2) + Self.quotes(w3)
                i += 32
            }
            // Then the next 32 bytes (or the rest) character by character.
            let stop = Swift.min(end, i + 32)
            while i < stop {
                let byte = base[i]
                if byte < 0x80 {
                    if byte == UInt8(ascii: "\"") { quoteCount += 1 }
                    i += 1
                    continue
                }
                let length: Int
                var low: UInt8 = 0x80, high: UInt8 = 0xBF
                switch byte {
                case 0xC2...0xDF: length = 2
                case 0xE0: length = 3; low = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: length = 3
                case 0xED: length = 3; high = 0x9F
                case 0xF0: length = 4; low = 0x90
                case 0xF1...0xF3: length = 4
                case 0xF4: length = 4; high = 0x8F
                default: valid = false; return
                }
                guard i + length <= end, base[i + 1] >= low, base[i + 1] <= high else { valid = false; return }
                for k in 2..<length where base[i + k] & 0xC0 != 0x80 { valid = false; return }
                i += length
            }
        }
        quotes += quoteCount
    }

    /// The double quotes among eight ASCII bytes: bytes equal to '"' become zero, and a byte's
    /// high bit survives the add-and-or below exactly when it is non-zero, with no carry between
    /// bytes.
    @inline(__always)
    private static func quotes(_ word: UInt64) -> Int {
        let x = word ^ 0x2222_2222_2222_2222
        let nonZero = ((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x
        return (~nonZero & 0x8080_8080_8080_8080).nonzeroBitCount
    }

    /// The end of the block that starts at `start` and is about `size` bytes long, moved forward
    /// past continuation bytes so that it falls on the start of a character.
    static func blockEnd(_ base: UnsafePointer<UInt8>, from start: Int, size: Int, count: Int) -> Int {
        var end = Swift.min(start + size, count)
        while end < count && base[end] & 0xC0 == 0x80 { end += 1 }
        return end
    }
}
