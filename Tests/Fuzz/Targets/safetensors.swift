import Foundation
@testable import MMoE

/// Fuzz target: the input as a checkpoint's `model.safetensors`: parsed, its manifest read, and
/// the model (and embedding store) rebuilt from it as `mmoe-predict` does. A forged manifest with
/// a valid checksum is reached through the `safetensors_manifest` seeds.
func elementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let r = n.multipliedReportingOverflow(by: d)
        guard !r.overflow, r.partialValue <= 1 << 24 else { return nil }
        n = r.partialValue
    }
    return n
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = FuzzScratch.bytes(start, count)
    _ = try? SafeTensors.read(data, file: "fuzz", requireChecksum: false)
    let dir = FuzzScratch.write([ModelCheckpoint.fileName: data])
    _ = try? CheckpointManifest.loadModelAndStore(from: dir)
    // The same bytes with a correct checksum: what a forged file would carry.
    if let file = try? SafeTensors.read(data, file: "fuzz", requireChecksum: false) {
        var entries: [SafeTensors.Entry] = []
        for name in file.names where name != "__metadata__" {
            // Only tensors whose element count matches their shape can be written back.
            guard let info = file.tensors[name], let elements = elementCount(info.shape),
                  elements * info.dtype.size == info.dataOffsets.count else { continue }
            switch info.dtype {
            case .f32: if let v = try? file.floats(name) { entries.append(.f32(name, shape: info.shape, v)) }
            case .u64: if let v = try? file.uint64s(name) { entries.append(.u64(name, shape: info.shape, v)) }
            case .i64: if let v = try? file.int64s(name) { entries.append(.i64(name, shape: info.shape, v)) }
            }
        }
        var metadata = file.metadata
        metadata["checksum"] = nil
        _ = FuzzScratch.write([ModelCheckpoint.fileName: SafeTensors.encode(entries, metadata: metadata)])
        _ = try? CheckpointManifest.loadModelAndStore(from: dir)
    }
    return 0
}
