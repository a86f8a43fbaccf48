import Testing
import Linalg

@Test func transposeSwapsIndices() {
    let m = Matrix([[1, 2, 3], [4, 5, 6]])
    let t = m.transposed
    #expect(t.rows == 3 && t.columns == 2)
    #expect(t[2, 1] == 6 && t[0, 1] == 4)
}
