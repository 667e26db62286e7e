import XCTest
import Tensor
import TestSupport

/// The ops the baselines and regression tasks added: PLE's routed mixture and the mixed-type
/// multi-task loss, against finite differences and against the ops they generalise.
extension OpGradientTests {
    func testRoutedMixture() {
        // 2 tasks, each mixing its own 2 experts and 1 shared one (PLE's routes), out of 5.
        let routes = [[0, 1, 4], [2, 3, 4]]
        check([r([2, 3, 3], 130), r([5, 3, 4], 131)]) { _, v in routedMixture(gates: v[0], experts: v[1], routes: routes) }
        // An expert twice in one route, and a route over a subset in another order.
        check([r([3, 2, 2], 132), r([3, 2, 5], 133)]) { _, v in routedMixture(gates: v[0], experts: v[1], routes: [[0, 0], [2, 1], [1, 2]]) }
        check([r([1, 1, 1], 134), r([2, 1, 1], 135)]) { _, v in routedMixture(gates: v[0], experts: v[1], routes: [[1]]) }
    }

    func testRoutedMixtureWithEveryExpertIsGatedMixture() {
        let g = r([3, 5, 4], 136), x = r([4, 5, 6], 137)
        let tape = Tape()
        let gv = tape.variable(g), xv = tape.variable(x)
        let routed = routedMixture(gates: gv, experts: xv, routes: Array(repeating: [0, 1, 2, 3], count: 3))
        let full = gatedMixture(gates: gv, experts: xv)
        XCTAssertEqual(TestSupport.bits(routed.value), TestSupport.bits(full.value))
    }

    func testTaskLossSum() {
        // Task 0 binary (targets in [0, 1]), task 1 regression, task 2 binary.
        let targets = Tensor(shape: [3, 4], scalars: [1, 0, 0.5, 1, 2.5, -1, 0.3, 0, 0, 1, 1, 0])
        check([r([3, 4], 138, lo: -3, hi: 3)]) { _, v in v[0].taskLossSum(targets, regression: [false, true, false]) }
        check([r([1, 1], 139)]) { _, v in v[0].taskLossSum(Tensor(shape: [1, 1], scalars: [0.7]), regression: [true]) }
    }

    /// Each task's term is the BCE or MSE op on that task's row alone.
    func testTaskLossSumIsThePerTaskLosses() {
        let x = r([2, 5], 140, lo: -2, hi: 2), y = Tensor(shape: [2, 5], scalars: [1, 0, 1, 1, 0, 0.4, -2, 1.5, 0, 3])
        let tape = Tape()
        let v = tape.variable(x)
        let both = v.taskLossSum(y, regression: [false, true]).value.item
        let bce = tape.variable(x.select(0, 0).contiguous().reshaped([1, 5])).bceWithLogits(y.select(0, 0).contiguous().reshaped([1, 5])).value.item
        let mse = tape.variable(x.select(0, 1).contiguous().reshaped([1, 5])).mse(y.select(0, 1).contiguous().reshaped([1, 5])).value.item
        XCTAssertEqual(both, bce + mse, accuracy: 1e-6)
    }
}
