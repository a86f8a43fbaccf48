/// The rows of a design listed group by group of one grouping factor, each group's rows in
/// increasing order (a stable counting sort of the row numbers by group code).
///
/// The cross-products' pattern lists, for each group of the first term, the levels of the other
/// terms that share a row with it: with the rows listed by group, each group's levels are found
/// by marking the levels seen, without sorting one key per row.
struct RowsByGroup {
    /// Group g's rows are `rows[starts[g] ..< starts[g + 1]]`.
    let starts: [Int]
    let rows: [Int32]

    init(codes: [Int32], groupCount: Int) {
        var starts = [Int](repeating: 0, count: groupCount + 1)
        for code in codes { starts[Int(code) + 1] += 1 }
        for g in 0..<groupCount { starts[g + 1] += starts[g] }
        var next = starts
        var rows = [Int32](repeating: 0, count: codes.count)
        codes.withUnsafeBufferPointer { codes in
        rows.withUnsafeMutableBufferPointer { rows in
        next.withUnsafeMutableBufferPointer { next in
            for i in 0..<codes.count {
                let g = Int(codes[i])
                rows[next[g]] = Int32(i)
                next[g] += 1
            }
        } } }
        self.starts = starts
        self.rows = rows
    }
}
