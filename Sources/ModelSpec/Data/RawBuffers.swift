import Foundation

/// A growable array of trivial values in `malloc` memory, for the CSV reader's columns.
///
/// Why not `[T]`: `realloc` of a large block moves pages (`mremap`) instead of copying them, so
/// growing a 10^7-row column never holds the old and the new buffer at once, and appending
/// through a pointer in the reader's loop has no uniqueness or exclusivity checks. The owner
/// calls `free()` exactly once; copies share the memory.
struct GrowableBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>?
    private(set) var count = 0
    private var capacity = 0

    @inline(__always)
    mutating func append(_ value: Element) {
        if count == capacity { grow(to: count + 1) }
        base.unsafelyUnwrapped[count] = value
        count += 1
    }

    /// Appends `count` elements from `source`.
    mutating func append(contentsOf source: UnsafePointer<Element>, count added: Int) {
        guard added > 0 else { return }
        if count + added > capacity { grow(to: count + added) }
        (base.unsafelyUnwrapped + count).update(from: source, count: added)
        count += added
    }

    /// Empties the buffer, keeping its memory.
    mutating func removeAll() { count = 0 }

    mutating func grow(to minimum: Int) {
        var newCapacity = Swift.max(capacity * 2, 1024)
        while newCapacity < minimum { newCapacity *= 2 }
        guard let memory = realloc(base, newCapacity * MemoryLayout<Element>.stride) else {
            fatalError("out of memory reading a CSV file (\(newCapacity) values)")
        }
        base = memory.assumingMemoryBound(to: Element.self)
        capacity = newCapacity
    }

    subscript(index: Int) -> Element {
        @inline(__always) get { base.unsafelyUnwrapped[index] }
        @inline(__always) nonmutating set { base.unsafelyUnwrapped[index] = newValue }
    }

    /// The values as a Swift array (a copy).
    func array() -> [Element] {
        guard count > 0, let base else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: count))
    }

    mutating func free() {
        Foundation.free(base)
        base = nil
        count = 0
        capacity = 0
    }
}

/// Distinct byte strings, numbered in the order first seen: the labels of a categorical column.
/// An open-addressing hash table over an arena of the labels' bytes; `free()` once when done,
/// and not used after.
///
/// A slot holds a key word and a tag, so that finding a label of up to 7 bytes reads one slot and
/// nothing else: the key is such a label's bytes with its length in the top byte (a longer label's
/// first 8 bytes, then compared in full), the tag the hash's high 32 bits, a bit for "short", and
/// the label's number + 1 (0: empty slot).
///
/// Labels that are whole numbers below `directLimit` written without sign or leading zero (the
/// usual group id: "308", "4512") skip the hash table: their number indexes `direct`, a dense
/// table small enough to stay in cache, where a hash table of thousands of labels misses it on
/// every row. Such a text and its number determine each other, so both ways number the labels
/// alike.
struct ByteInterner {
    /// Whole-number labels below this use `direct` (4 MB at most).
    static let directLimit = 1 << 20

    private var arena = GrowableBuffer<UInt8>()
    /// Label i's bytes are arena[starts[i] ..< starts[i + 1]].
    private var starts = GrowableBuffer<Int>()
    private var slots: UnsafeMutablePointer<(key: UInt64, tag: UInt64)>
    private var slotMask: Int
    /// Per whole number v below `directCount`, the number + 1 of label "v" (0: not seen).
    private var direct = GrowableBuffer<Int32>()
    private(set) var count = 0

    init() {
        slotMask = 255
        slots = .allocate(capacity: slotMask + 1)
        slots.initialize(repeating: (0, 0), count: slotMask + 1)
        starts.append(0)
        arena.grow(to: 1024)
    }

    /// The bytes of label `index`.
    func label(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        let start = starts[index]
        return UnsafeBufferPointer(start: arena.base.map { UnsafePointer($0 + start) }, count: starts[index + 1] - start)
    }

    /// The number of `length` bytes at `bytes`, adding them as a new label if they are new.
    /// `readable`: how many bytes from `bytes` on may be read (at least `length`); with 8 or more
    /// a short label is loaded as one word.
    @inline(__always)
    mutating func intern(_ bytes: UnsafePointer<UInt8>, _ length: Int, readable: Int) -> Int32 {
        let short = length < 8
        let key: UInt64
        let hash: UInt64
        if short {
            var word: UInt64
            if readable >= 8 {
                word = UnsafeRawPointer(bytes).loadUnaligned(as: UInt64.self) & ((1 << UInt64(8 * length)) &- 1)
            } else {
                word = 0
                for k in 0..<length { word |= UInt64(bytes[k]) << UInt64(8 * k) }
            }
            if let number = Self.wholeNumber(word, length) {
                return internNumber(number, bytes, length)
            }
            key = word | UInt64(length) << 56
            hash = Self.mix(key)
        } else {
            key = UnsafeRawPointer(bytes).loadUnaligned(as: UInt64.self)
            hash = Self.hash(bytes, length)
        }
        let tagHigh = (hash & 0xFFFF_FFFF_0000_0000) | (short ? 1 << 31 : 0)
        var slot = Int(truncatingIfNeeded: hash) & slotMask
        while true {
            let entry = slots[slot]
            if entry.tag == 0 { break }
            if entry.tag & ~0x7FFF_FFFF == tagHigh && entry.key == key {
                let index = Int(entry.tag & 0x7FFF_FFFF) - 1
                if short { return Int32(index) }
                let start = starts[index]
                if starts[index + 1] - start == length && memcmp(arena.base.unsafelyUnwrapped + start, bytes, length) == 0 {
                    return Int32(index)
                }
            }
            slot = (slot + 1) & slotMask
        }
        let index = count
        arena.append(contentsOf: bytes, count: length)
        starts.append(arena.count)
        slots[slot] = (key, tagHigh | UInt64(index + 1))
        count += 1
        if count * 2 > slotMask { rehash() }
        return Int32(index)
    }

    /// The value of a label of 1 to 7 digits (its bytes in `word`, little-endian) without a leading
    /// zero, if it is below `directLimit`; else nil.
    @inline(__always)
    private static func wholeNumber(_ word: UInt64, _ length: Int) -> Int? {
        guard length > 0 && length < 8 else { return nil }
        let used: UInt64 = (1 << UInt64(8 * length)) &- 1
        let digits = word &- (0x3030_3030_3030_3030 & used)
        // As in DecimalParser: a byte is a digit when it and it + 6 stay below 16; a borrow only
        // starts at a byte that is not a digit.
        guard (digits | (digits &+ 0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0 & used == 0 else { return nil }
        guard length == 1 || word & 0xFF != UInt64(UInt8(ascii: "0")) else { return nil }
        var value = digits << UInt64(8 * (8 - length))
        value = value &* 10 &+ (value >> 8)
        let pairs = (value & 0x0000_00FF_0000_00FF) &* 0x000F_4240_0000_0064
        let quads = ((value >> 16) & 0x0000_00FF_0000_00FF) &* 0x0000_2710_0000_0001
        value = (pairs &+ quads) >> 32
        return value < directLimit ? Int(value) : nil
    }

    /// The number of the whole-number label `number` (whose text is `bytes`), adding it if new.
    @inline(__always)
    private mutating func internNumber(_ number: Int, _ bytes: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
        if number < direct.count {
            let entry = direct[number]
            if entry != 0 { return entry - 1 }
        } else {
            var size = Swift.max(direct.count * 2, 1024)
            while size <= number { size *= 2 }
            while direct.count < size { direct.append(0) }
        }
        let index = count
        arena.append(contentsOf: bytes, count: length)
        starts.append(arena.count)
        direct[number] = Int32(index + 1)
        count += 1
        return Int32(index)
    }

    /// Doubles the table. A slot keeps only the hash's high half, so each label's hash is computed
    /// again from its bytes.
    private mutating func rehash() {
        let newMask = slotMask * 2 + 1
        let newSlots = UnsafeMutablePointer<(key: UInt64, tag: UInt64)>.allocate(capacity: newMask + 1)
        newSlots.initialize(repeating: (0, 0), count: newMask + 1)
        for old in 0...slotMask where slots[old].tag != 0 {
            let entry = slots[old]
            let index = Int(entry.tag & 0x7FFF_FFFF) - 1
            let bytes = label(index)
            let hash = bytes.count < 8 ? Self.mix(entry.key) : Self.hash(bytes.baseAddress!, bytes.count)
            var slot = Int(truncatingIfNeeded: hash) & newMask
            while newSlots[slot].tag != 0 { slot = (slot + 1) & newMask }
            newSlots[slot] = entry
        }
        slots.deallocate()
        slots = newSlots
        slotMask = newMask
    }

    /// SplitMix64's finalizer.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var h = value ^ 0x9E37_79B9_7F4A_7C15
        h ^= h >> 30
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 27
        h = h &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }

    /// A 64-bit hash of a byte string of 8 bytes or more: 8-byte words folded by multiply and
    /// rotate, the last word ending at the last byte, then mixed.
    static func hash(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        let raw = UnsafeRawPointer(bytes)
        var h: UInt64 = UInt64(truncatingIfNeeded: length)
        var offset = 0
        while offset + 8 <= length {
            h = (h ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h = (h << 31) | (h >> 33)
            offset += 8
        }
        if offset < length {
            h = (h ^ raw.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
        }
        return mix(h)
    }

    mutating func free() {
        arena.free()
        starts.free()
        direct.free()
        slots.deallocate()
        count = 0
    }
}
