import Foundation
@testable import Datasets

/// Fuzz target: the input as a Taobao data file: counted, split into slices and read whole.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTaobaoLine(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let dir = FuzzScratch.write([Taobao.trainFileName: FuzzScratch.bytes(start, count)])
    let path = dir + "/" + Taobao.trainFileName
    _ = try? Taobao.countRows(path: path)
    for options in [TaobaoOptions(), TaobaoOptions(clampPrice: true, keepKeys: true)] {
        try? Taobao.read(path: path, chunkRows: 7, options: options) { _ in true }
    }
    if let slices = try? Taobao.fileSlices(path: path, count: 3) {
        for slice in slices { try? Taobao.read(path: path, slice: slice) { _ in true } }
    }
    return 0
}
