extension Array {
    /// A copy in storage of its own. Copies of an array share one buffer until one is written,
    /// and every copy or read through a copy retains and releases that buffer: when threads do
    /// this to one buffer, its reference count's cache line moves between cores at every retain.
    /// Each chain of a run reads its model from copies made with this (`Design.unsharedCopy`).
    public func unsharedCopy() -> [Element] { withUnsafeBufferPointer { Array($0) } }
}

extension Matrix {
    /// A copy whose storage is its own (`Array.unsharedCopy`).
    public func unsharedCopy() -> Matrix { Matrix(rows: rows, columns: columns, storage: storage.unsharedCopy()) }
}

extension BlockedLayout {
    /// A copy whose arrays are its own (`Array.unsharedCopy`).
    public func unsharedCopy() -> BlockedLayout {
        BlockedLayout(groupCount: groupCount, groupSize: groupSize, denseDimension: denseDimension,
                      patternOffsets: patternOffsets.unsharedCopy(), patternRows: patternRows.unsharedCopy())
    }
}
