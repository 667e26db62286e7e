import Foundation
import Datasets

/// The arrays an exported graph takes, gathered from encoded rows (`mmoe-predict --emit_inputs`,
/// `mmoe-export --sample_dir`), so a serving stack can check its own feature encoding against ours.
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
        for r in 0..<data.count {
            for f in layout.singleFields {
                let ids = data.ids(row: r, field: f)
                guard ids.count == 1 else {
                    throw ONNXExportError("row \(count + r + 1): field \(layout.fieldNames[f]) has \(ids.count) ids, but it takes exactly one")
                }
                sparse.append(Int64(ids.first!))
            }
            for f in layout.bagFields { bags.append(data.ids(row: r, field: f).map(Int64.init)) }
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
            out.append(("sparse_ids.npy", NumpyFile.encode(sparse, shape: [count, layout.singleFields.count])))
        }
        if !layout.bagFields.isEmpty {
            out.append(("tag_ids.npy", NumpyFile.encode(paddedBags, shape: [count, layout.bagFields.count, bagWidth])))
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
