import Foundation
@testable import MMoE

/// Fuzz target: the row store's files. The first byte picks the file the rest becomes: a
/// FileRowStorage data file, its commit log, its arrays file, or a row snapshot (also a journal's
/// base); the store is then opened (recovering the log) and read through.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRowStore(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = FuzzScratch.bytes(start, count)
    guard let first = data.first else { return 0 }
    let body = data.dropFirst()
    let width = 4
    switch first % 4 {
    case 0, 1, 2:
        let name = [RowFileFormat.dataFile, RowFileFormat.logFile, RowFileFormat.arraysFile][Int(first % 4)]
        let dir = FuzzScratch.write([name: Data(body)])
        // The shape the data file's own header declares (so a mutated file gets past the shape
        // check to its records), and two fixed ones.
        var shapes: [(Int, FileRowStorage.Keys)] = [(width, .sparse), (width, .dense(capacity: 8))]
        if name == RowFileFormat.dataFile, body.count >= RowFileFormat.headerWords * 4 {
            let bytes = Array(body.prefix(RowFileFormat.headerWords * 4))
            let words = (0 ..< RowFileFormat.headerWords).map { i in
                (0 ..< 4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * i + $1]) << (8 * UInt32($1)) }
            }
            if let h = try? RowFileFormat.Header(words, magic: RowFileFormat.dataMagic, file: name, what: "fuzz"),
               h.width > 0, h.width <= 64, h.denseCapacity <= 1 << 16 {
                shapes.insert((h.width, h.denseCapacity > 0 ? .dense(capacity: h.denseCapacity) : .sparse), at: 0)
            }
        }
        for (w, keys) in shapes {
            if let store = try? FileRowStorage(directory: dir, width: w, keys: keys, cacheBudgetBytes: 4096) {
                let keys = Array(0 ..< UInt64(8))
                var out = [Float](repeating: 0, count: w * keys.count), found = [Bool](repeating: false, count: keys.count)
                try? store.read(keys, into: &out, found: &found)
            }
            _ = FuzzScratch.write([name: Data(body)])
        }
    default:
        let dir = FuzzScratch.write(["snapshot.rows": Data(body), JournaledRowStorage.baseFile: Data(body)])
        _ = try? RowSnapshot.load(into: MemoryRowStorage(width: width), from: dir + "/snapshot.rows")
        _ = try? JournaledRowStorage(directory: dir, storage: MemoryRowStorage(width: width))
    }
    return 0
}
