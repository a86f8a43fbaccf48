import ModelSpec

extension Fixtures {
    /// The design of the example model `models/NAME`, read as a model directory is read by
    /// `mixmc` (grouping factors and the directory's `categorical` columns as factors).
    public static func modelDesign(_ name: String) throws -> Design {
        let directory = try ModelDirectory.load(path: repositoryRoot.appendingPathComponent("models/\(name)").path)
        let formula = try Formula.parse(directory.formula)
        let data = try DataTable.read(path: directory.dataPath,
                                      categorical: Set(directory.categorical).union(Design.variables(of: formula).grouping))
        return try Design.build(data: data, formula: formula)
    }
}
