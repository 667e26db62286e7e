import Tensor
import Datasets

/// Shuffled mini-batches over a training set, epoch after epoch: each epoch is a fresh permutation
/// of the rows cut into `ceil(N / B)` batches, the last one smaller when B does not divide N
/// (PyTorch's DataLoader with `shuffle=True, drop_last=False`).
public struct BatchStream {
    public let data: TabularData
    public let batchSize: Int
    private var rng: SeededRNG
    private var order: [Int] = []
    private var position = 0
    public private(set) var epoch = 0

    public init(_ data: TabularData, batchSize: Int, seed: UInt64) {
        precondition(batchSize > 0 && data.count > 0, "BatchStream: needs rows and a positive batch size")
        self.data = data
        self.batchSize = batchSize
        rng = SeededRNG(seed: seed, stream: .batchOrder)
        order = Array(0..<data.count)
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int { (data.count + batchSize - 1) / batchSize }

    public mutating func next() -> Batch {
        if position == 0 { order.shuffle(using: &rng) }
        let end = min(position + batchSize, data.count)
        let batch = Batch(data, rows: order[position..<end])
        if end == data.count {
            position = 0
            epoch += 1
        } else {
            position = end
        }
        return batch
    }
}
