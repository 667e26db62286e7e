import XCTest
import Foundation
@testable import Tensor

extension GEMMTests {
    /// `packA` / `packB` against a plain reference loop, bit for bit, in all four layouts (A and B,
    /// transposed or not: panel widths MR = 14 and NR = 32, lines adjacent or contiguous along k),
    /// for every lines in 1...33 (and 255, 270, 300: several chunks of panels) and kc in 1...40, with
    /// a tight and a padded leading dimension.
    /// The source ends right before an inaccessible page, so a read past its last element crashes;
    /// its row padding is NaN (must never be copied) and the packed buffer is pre-filled with NaN
    /// (an unwritten slot shows) and followed by sentinels (a write past the panels shows).
    func testPackMatchesReferenceLoopExactly() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let dataBytes = 16 * page
        guard let region = mmap(nil, dataBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              region != MAP_FAILED else { throw XCTSkip("mmap failed") }
        defer { munmap(region, dataBytes + page) }
        XCTAssertEqual(mprotect(region + dataBytes, page, PROT_NONE), 0)
        let end = (region + dataBytes).assumingMemoryBound(to: Float.self)

        let sentinel: Float = 12345
        var failures = 0
        for (width, transposed) in [(gemmMR, false), (gemmMR, true), (gemmNR, false), (gemmNR, true)] {
            // A is packed from lines contiguous along k unless transA; B the other way round.
            let adjacent = width == gemmMR ? transposed : !transposed
            for lines in Array(1...33) + [255, 270, 300] {
                for kc in 1...40 {
                    for pad in [0, 3] {
                        let ld = (adjacent ? lines : kc) + pad
                        let extent = adjacent ? (kc - 1) * ld + lines : (lines - 1) * ld + kc
                        let src = UnsafePointer(end - extent)
                        func at(_ line: Int, _ p: Int) -> Int { adjacent ? p * ld + line : line * ld + p }
                        let dst = UnsafeMutablePointer(mutating: src)
                        for i in 0..<extent { dst[i] = .nan }
                        for line in 0..<lines { for p in 0..<kc { dst[at(line, p)] = Float(line * 1000 + p + 1) } }

                        let panels = (lines + width - 1) / width
                        let packedCount = panels * kc * width
                        var packed = [Float](repeating: .nan, count: packedCount + 32)
                        for i in packedCount..<packed.count { packed[i] = sentinel }
                        packed.withUnsafeMutableBufferPointer { out in
                            if width == gemmMR {
                                packA(transA: transposed, a: src, lda: ld, mc: lines, kc: kc, into: out.baseAddress!)
                            } else {
                                packB(transB: transposed, b: src, ldb: ld, kc: kc, nc: lines, into: out.baseAddress!)
                            }
                        }

                        var expected = [Float](repeating: sentinel, count: packed.count)
                        for q in 0..<panels {
                            for p in 0..<kc {
                                for r in 0..<width {
                                    let line = q * width + r
                                    expected[(q * kc + p) * width + r] = line < lines ? src[at(line, p)] : 0
                                }
                            }
                        }
                        if let i = packed.indices.first(where: { packed[$0].bitPattern != expected[$0].bitPattern }) {
                            failures += 1
                            if failures <= 10 {
                                XCTFail("width \(width) transposed \(transposed) lines \(lines) kc \(kc) ld \(ld): "
                                        + "packed[\(i)] = \(packed[i]), expected \(expected[i])")
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(failures, 0)
    }
}
