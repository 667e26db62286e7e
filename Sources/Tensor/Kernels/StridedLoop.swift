/// Walks up to three equally-shaped strided views row by row. Adjacent dimensions that are laid out
/// contiguously in every view are merged first, so a dense tensor is one long row and a `[B, H]`
/// plus a broadcast `[H]` is B rows of H. `body` gets the three element offsets of a row's start,
/// the row length and the three inner strides (0 for a broadcast operand).
@inline(__always)
func forEachRow(shape: [Int], _ s0: [Int], _ o0: Int, _ s1: [Int], _ o1: Int, _ s2: [Int], _ o2: Int,
                _ body: (Int, Int, Int, Int, Int, Int, Int) -> Void) {
    let total = shape.reduce(1, *)
    if total == 0 { return }
    // Drop size-1 dimensions, then merge mergeable neighbours.
    var dims: [Int] = [], st0: [Int] = [], st1: [Int] = [], st2: [Int] = []
    for i in 0..<shape.count where shape[i] != 1 {
        if let last = dims.indices.last,
           st0[last] == s0[i] * shape[i], st1[last] == s1[i] * shape[i], st2[last] == s2[i] * shape[i] {
            dims[last] *= shape[i]
            st0[last] = s0[i]; st1[last] = s1[i]; st2[last] = s2[i]
        } else {
            dims.append(shape[i]); st0.append(s0[i]); st1.append(s1[i]); st2.append(s2[i])
        }
    }
    if dims.isEmpty { body(o0, o1, o2, 1, 0, 0, 0); return }
    let inner = dims.count - 1
    let n = dims[inner], i0 = st0[inner], i1 = st1[inner], i2 = st2[inner]
    if inner == 0 { body(o0, o1, o2, n, i0, i1, i2); return }
    var index = [Int](repeating: 0, count: inner)
    var p0 = o0, p1 = o1, p2 = o2
    let rows = total / n
    for _ in 0..<rows {
        body(p0, p1, p2, n, i0, i1, i2)
        var d = inner - 1
        while d >= 0 {
            index[d] += 1
            p0 += st0[d]; p1 += st1[d]; p2 += st2[d]
            if index[d] < dims[d] { break }
            p0 -= st0[d] * dims[d]; p1 -= st1[d] * dims[d]; p2 -= st2[d] * dims[d]
            index[d] = 0
            d -= 1
        }
    }
}
