import XCTest
@testable import MMoE

final class ProcessMemoryHeapTests: XCTestCase {
    /// glibc takes both settings (the trainer's page-fault fix depends on them), and the heap
    /// still serves and frees blocks around the mmap threshold afterwards.
    func testKeepFreedHeapIsAcceptedByGlibc() throws {
        #if canImport(Glibc)
        XCTAssertTrue(ProcessMemory.keepFreedHeap())
        for count in [1 << 10, (8 << 20) / 4, (40 << 20) / 4] {
            var values = [Float](repeating: 1, count: count)
            values[count - 1] = 2
            XCTAssertEqual(values.reduce(0, +), Float(count + 1))
        }
        #else
        throw XCTSkip("glibc only")
        #endif
    }
}
