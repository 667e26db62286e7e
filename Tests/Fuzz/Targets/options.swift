import Foundation
@testable import MMoE

/// Fuzz target: the input as command-line arguments (split at NUL bytes), parsed by both
/// commands' option parsers and checked as `mmoe-train` checks them before doing anything.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOptions(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let data = FuzzScratch.bytes(start, count)
    let arguments = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    if let o = try? TrainOptions.parse(arguments) {
        try? o.checkCombinations()
        for kind in [DatasetKind.synthetic, .census, .taobao] {
            if (try? o.checkDataFlags(for: kind)) != nil { _ = o.resolved(for: kind) }
        }
        _ = o.embeddingStoreSettings(seed: 1)
        _ = try? o.admissionFilter()
    }
    _ = try? PredictOptions.parse(arguments)
    return 0
}
