import XCTest
import Tensor
import TestSupport

/// The masked multi-task loss (missing labels, conditioned tasks, task weights): finite
/// differences, left-out entries that are never read, and the op it generalises.
extension OpGradientTests {
    func testMaskedTaskLoss() {
        // Task 0 binary with a NaN (missing) target left out, task 1 regression, task 2 binary.
        let targets = Tensor(shape: [3, 4], scalars: [1, .nan, 0, 1, 2.5, -1, 0.3, 0, 0, 1, 1, 0])
        let include = [true, false, true, true, true, true, false, true, false, false, false, false]
        check([r([3, 4], 150, lo: -3, hi: 3)]) { _, v in
            v[0].maskedTaskLoss(targets, regression: [false, true, false], include: include, coefficients: [0.5, 2, 1])
        }
    }

    /// A left-out entry gets a gradient of exactly 0 even when its target is NaN, and a task with
    /// coefficient 0 adds nothing; the loss is the same with the left-out entries' targets changed.
    func testMaskedTaskLossIgnoresLeftOutEntries() {
        let x = r([2, 3], 151, lo: -2, hi: 2)
        let include = [true, false, true, true, true, true]
        func run(_ targets: [Float], coefficients: [Float]) -> (loss: Float, grad: [Float]) {
            let tape = Tape()
            let v = tape.variable(x)
            let loss = v.maskedTaskLoss(Tensor(shape: [2, 3], scalars: targets), regression: [false, true], include: include, coefficients: coefficients)
            tape.backward(loss)
            return (loss.value.item, tape.gradient(of: v)!.scalars)
        }
        let a = run([1, .nan, 0, 0.5, 1, -1], coefficients: [0.5, 1.0 / 3])
        let b = run([1, 7, 0, 0.5, 1, -1], coefficients: [0.5, 1.0 / 3])
        XCTAssertEqual(a.loss.bitPattern, b.loss.bitPattern)
        XCTAssertEqual(a.grad.map(\.bitPattern), b.grad.map(\.bitPattern))
        XCTAssertEqual(a.grad[1], 0)
        XCTAssertTrue(a.grad.allSatisfy(\.isFinite))
        let zero = run([1, .nan, 0, 0.5, 1, -1], coefficients: [0, 1.0 / 3])
        XCTAssertEqual(Array(zero.grad[0..<3]), [0, 0, 0])
    }

    /// With every entry included and coefficients 1/B it is `taskLossSum`.
    func testMaskedTaskLossWithEveryEntryIsTaskLossSum() {
        let x = r([2, 5], 152, lo: -2, hi: 2), y = Tensor(shape: [2, 5], scalars: [1, 0, 1, 1, 0, 0.4, -2, 1.5, 0, 3])
        let tape = Tape()
        let v = tape.variable(x)
        let masked = v.maskedTaskLoss(y, regression: [false, true], include: Array(repeating: true, count: 10), coefficients: [0.2, 0.2])
        let sum = v.taskLossSum(y, regression: [false, true])
        XCTAssertEqual(masked.value.item, sum.value.item, accuracy: 1e-6 * abs(sum.value.item))
    }
}
