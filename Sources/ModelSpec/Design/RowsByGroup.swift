/// The rows of a design listed group by group of one grouping factor, each group's rows in
/// increasing order (a stable counting sort of the row numbers by group code).
///
/// The cross-products of the first term's groups are sums over each group's rows only; visiting
/// the rows group by group keeps one group's block of the products in cache while its rows are
/// added, instead of a random group's block for every row, and the sums see their rows in the
/// same order as a pass in file order (so they keep their bits).
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
