import Foundation
@testable import Datasets

/// Fuzz target: the input as a Census training file (the test file is one valid line), loaded
/// with the encoder fitted on it. Any error is fine; a trap or a sanitizer report is a bug.
let censusValid = Data("65, Not in universe, 0, 0, High school graduate, 0, Not in universe, Married-civilian spouse present, Not in universe or children, Not in universe, White, All other, Male, Not in universe, Not in universe, Not in labor force, 0, 0, 0, Joint one under 65 & one 65+, Not in universe, Not in universe, Spouse of householder, Spouse of householder, 2259.6, ?, ?, ?, Not in universe under 1 year old, ?, 0, Not in universe, United-States, United-States, United-States, Native- Born in the United States, 0, Not in universe, 2, 0, 95, - 50000.\n".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCensusLine(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let dir = FuzzScratch.write(["census-income.data": FuzzScratch.bytes(start, count), "census-income.test": censusValid])
    _ = try? CensusIncome.load(directory: dir, tableSizes: nil, maxTrainRows: nil, maxTestRows: nil)
    // The same bytes as the test file, encoded with an encoder fitted on the valid line.
    _ = FuzzScratch.write(["census-income.data": censusValid, "census-income.test": FuzzScratch.bytes(start, count)])
    _ = try? CensusIncome.load(directory: dir, keepKeys: true)
    return 0
}
