import XCTest
import Datasets
import Tensor
@testable import MMoE

/// One `--seed` feeds several consumers (initialisation, synthetic data, batch order, dropout,
/// embedding-store rows); each must draw from a stream of its own.
final class RandomStreamsTests: XCTestCase {
    /// The defect this guards: with one shared generator, row 0 of the synthetic inputs was expert
    /// 0's initial weights 220-224 divided by the init std (the data generator first drew 220
    /// normals for its weight vectors and sine terms). No run of three consecutive inputs may
    /// appear, to within rounding, as three consecutive normalised initial weights.
    func testSyntheticDataSharesNoValuesWithInitialWeights() throws {
        for seed: UInt64 in [1, 2019] {
            let data = SyntheticTasks.generate(trainRows: 20, testRows: 0, settings: .init(inputDim: 100, seed: seed),
                                               binaryTasks: [false, false]).train
            let model = try MMoEModel(MMoEConfig(denseWidth: 100, fieldRows: [], embeddingDim: 1), seed: seed)
            var runsFound = 0
            for p in model.parameters.parameters where p.name.hasSuffix(".weight") {
                let std = (2 / Float(p.shape[1] + p.shape[2])).squareRoot()
                let w = p.value.scalars.map { $0 / std }
                for row in 0 ..< data.count {
                    let x = Array(data.dense[(row * 100) ..< (row * 100 + 3)])
                    for i in 0 ..< (w.count - 2) where abs(w[i] - x[0]) <= 1e-5 * max(1, abs(x[0]))
                        && abs(w[i + 1] - x[1]) <= 1e-5 * max(1, abs(x[1])) && abs(w[i + 2] - x[2]) <= 1e-5 * max(1, abs(x[2])) {
                        runsFound += 1
                    }
                }
            }
            XCTAssertEqual(runsFound, 0, "seed \(seed): synthetic inputs repeat the initial weights")
        }
    }

    /// The streams of one seed, and the same stream of neighbouring seeds, start from unrelated
    /// states: none of their first draws coincide.
    func testStreamsOfASeedAreDistinct() {
        var seen = Set<UInt64>()
        var draws = 0
        for seed: UInt64 in [0, 1, 2, 2019, 2020] {
            for stream in RandomStream.allCases {
                var rng = SeededRNG(seed: seed, stream: stream)
                for _ in 0 ..< 256 { seen.insert(rng.next()); draws += 1 }
            }
        }
        XCTAssertEqual(seen.count, draws)
        XCTAssertNotEqual(SeededRNG.streamSeed(7, .data), SeededRNG.streamSeed(7, .initialisation))
    }

    /// A model's initial weights depend on the seed and nothing else the run draws: the training
    /// order, dropout and data streams can change without moving them, and the same seed gives the
    /// same weights.
    func testInitialWeightsComeFromTheInitialisationStreamOnly() throws {
        let config = MMoEConfig(denseWidth: 4, fieldRows: [3, 2], embeddingDim: 2, numExperts: 2, numTasks: 2, expertDNN: [3])
        let a = try MMoEModel(config, seed: 5), b = try MMoEModel(config, seed: 5), c = try MMoEModel(config, seed: 6)
        let values = { (m: MMoEModel) in m.parameters.parameters.flatMap { $0.value.scalars } }
        XCTAssertEqual(values(a), values(b))
        XCTAssertNotEqual(values(a), values(c))
        var expected = SeededRNG(seed: 5, stream: .initialisation)
        let first = a.parameters.parameters.first { $0.name.hasSuffix(".weight") }!
        let std = (2 / Float(first.shape[1] + first.shape[2])).squareRoot()
        XCTAssertEqual(first.value.scalars[0], std * expected.nextNormal())
    }
}
