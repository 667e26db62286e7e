extension TabularData {
    /// `parts` one after another (all with this layout); nil when `parts` is empty.
    public static func concatenating(_ parts: [TabularData]) -> TabularData? {
        guard var out = parts.first else { return nil }
        for p in parts.dropFirst() {
            precondition(p.denseWidth == out.denseWidth && p.fieldCount == out.fieldCount && p.taskNames == out.taskNames
                         && (p.bagOffsets == nil) == (out.bagOffsets == nil)
                         && (p.keys == nil) == (out.keys == nil), "TabularData: concatenating different layouts")
            if let offsets = p.bagOffsets {
                let base = Int32(out.ids.count)
                out.bagOffsets! += offsets.dropFirst().map { $0 + base }
            }
            out.dense += p.dense
            out.ids += p.ids
            if let keys = p.keys { out.keys! += keys }
            out.labels += p.labels
            out.count += p.count
        }
        return out
    }
}
