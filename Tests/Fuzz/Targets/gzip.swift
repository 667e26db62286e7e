import Foundation
@testable import Datasets

/// Fuzz target: the input as a gzip file (header, DEFLATE blocks, trailer CRC-32 and length,
/// further members), decoded whole and, separately, as a raw snappy block. Any thrown error is
/// fine; a trap, a hang or a sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzip(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = [UInt8](FuzzScratch.bytes(start, count))
    _ = try? GzipDecoder.decompress(bytes)
    _ = try? Snappy.decompress(bytes[...])
    return 0
}
