import Foundation
@testable import Datasets

/// Fuzz target: the input as a Parquet file held in memory. The footer is parsed, then every
/// column of every row group is decoded through each accessor that fits its shape (pages,
/// decompression, encodings, levels). Any thrown error is fine; a trap, a hang or a sanitizer
/// report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParquet(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let file = try? ParquetFile(bytes: [UInt8](FuzzScratch.bytes(start, count)), name: "fuzz.parquet") else { return 0 }
    for g in 0 ..< min(file.metadata.rowGroups.count, 64) {
        for column in file.columns {
            if column.isList {
                _ = try? file.integerLists(column: column.name, rowGroup: g)
                _ = try? file.stringLists(column: column.name, rowGroup: g)
            } else {
                _ = try? file.numbers(column: column.name, rowGroup: g)
                _ = try? file.strings(column: column.name, rowGroup: g)
            }
        }
    }
    return 0
}
