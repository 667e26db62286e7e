import Foundation
import Datasets

/// The arrays an exported graph takes, gathered from encoded rows (`mmoe-predict --emit_inputs`,
/// `mmoe-export --sample_dir`), so a serving stack can check its own feature encoding against ours.
/// A keyed layout (a `--ev` model) writes `sparse_keys.npy` and `tag_keys.npy` instead of the
/// `_ids` files: the raw 64-bit keys' bit patterns, same shapes.
///
/// Written as one `.npy` file per graph input into a directory (see `ServingLayout.inputNames`):
///
///     sparse_ids.npy  int64    [N, Fs]     fused-table row of each one-id field
///     tag_ids.npy     int64    [N, Ft, L]  fused-table rows of each bag field, padded with -1;
///                                          L is the longest bag in the file (at least 1)
///     dense.npy       float32  [N, Dd]     dense features after training's transform
public struct ServingInputs {
    public let layout: ServingLayout
    /// Rows appended so far.
    public private(set) var count = 0
    /// `[N, Fs]`
    public private(set) var sparse: [Int64] = []
    /// Each (row, bag field)'s ids, row-major: `bags[r * Ft + j]`.
    public private(set) var bags: [[Int64]] = []
    /// `[N, Dd]`
    public private(set) var dense: [Float] = []

    public init(layout: ServingLayout) { self.layout = layout }

    /// Appends the rows of `data` (encoded as the model reads them).
    public mutating func append(_ data: TabularData) throws(ONNXExportError) {
        guard data.fieldCount == layout.fieldNames.count, data.denseWidth == layout.denseWidth else {
            throw ONNXExportError("the rows have \(data.fieldCount) sparse fields and \(data.denseWidth) dense features; "
                                  + "the model \(layout.fieldNames.count) and \(layout.denseWidth)")
        }
        if layout.keyed && data.keys == nil { throw ONNXExportError("the rows were read without their raw keys, which a keyed graph takes") }
        /// The ids of (row, field), or their raw keys' bit patterns when the graph is keyed.
        func ids(row r: Int, field f: Int) -> [Int64] {
            guard layout.keyed, let keys = data.keys else { return data.ids(row: r, field: f).map(Int64.init) }
            let i = r * data.fieldCount + f
            let range = data.bagOffsets.map { Int($0[i])..<Int($0[i + 1]) } ?? i..<(i + 1)
            return keys[range].map { Int64(bitPattern: $0) }
        }
        for r in 0..<data.count {
            for f in layout.singleFields {
                let ids = ids(row: r, field: f)
                guard ids.count == 1 else {
                    throw ONNXExportError("row \(count + r + 1): field \(layout.fieldNames[f]) has \(ids.count) ids, but it takes exactly one")
                }
                sparse.append(ids[0])
            }
            for f in layout.bagFields { bags.append(ids(row: r, field: f)) }
        }
        dense += data.dense
        count += data.count
    }

    /// L: the `tag_ids` bag width, the longest bag (at least 1).
    public var bagWidth: Int { max(1, bags.map(\.count).max() ?? 0) }

    /// `tag_ids` `[N, Ft, L]`, padded with -1.
    public var paddedBags: [Int64] {
        let width = bagWidth
        var out: [Int64] = []
        out.reserveCapacity(bags.count * width)
        for bag in bags { out += bag + Array(repeating: -1, count: width - bag.count) }
        return out
    }

    /// The `.npy` files of the graph inputs, by file name.
    public func files() -> [(name: String, data: Data)] {
        var out: [(name: String, data: Data)] = []
        if !layout.singleFields.isEmpty {
            out.append(("\(layout.sparseName).npy", NumpyFile.encode(sparse, shape: [count, layout.singleFields.count])))
        }
        if !layout.bagFields.isEmpty {
            out.append(("\(layout.tagName).npy", NumpyFile.encode(paddedBags, shape: [count, layout.bagFields.count, bagWidth])))
        }
        if layout.denseWidth > 0 { out.append(("dense.npy", NumpyFile.encode(dense, shape: [count, layout.denseWidth]))) }
        return out
    }

    /// Writes `files()` into `directory` (created if missing), each atomically. Errors name the file.
    public func write(to directory: String) throws(ONNXExportError) {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw ONNXExportError("\(directory): cannot create the directory: \(error.localizedDescription)")
        }
        for file in files() {
            do { try AtomicFile.write(file.data, as: file.name, in: directory) } catch { throw ONNXExportError(error.description) }
        }
    }
}
