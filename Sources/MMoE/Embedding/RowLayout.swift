/// What one `RowStorage` record of an embedding store holds, in order:
///
///     [ D values | S optimizer-state Floats | last-update step | frequency ]
///
/// The optimizer state is the row's share of the optimizer (Adagrad's accumulator, Adam's moments,
/// AdagradDecay's accumulator and decay power), so a row and everything needed to update it travel
/// together, into memory and out to a file. The two bookkeeping slots hold `UInt32`s as Float bit
/// patterns (only copied, never computed with): the global step of the row's last update (for
/// `gstep` eviction) and how often the row was looked up in training.
public struct RowLayout: Sendable, Equatable {
    /// D: embedding width.
    public let dim: Int
    /// S: optimizer-state Floats per row.
    public let stateWidth: Int

    public init(dim: Int, stateWidth: Int) {
        precondition(dim > 0 && stateWidth >= 0, "RowLayout: dim must be positive and stateWidth non-negative")
        self.dim = dim
        self.stateWidth = stateWidth
    }

    /// Floats per record.
    public var width: Int { dim + stateWidth + 2 }
    /// Position of the last-update step in a record.
    public var lastUpdateSlot: Int { dim + stateWidth }
    /// Position of the frequency in a record.
    public var frequencySlot: Int { dim + stateWidth + 1 }

    @inline(__always) static func encode(_ n: UInt32) -> Float { Float(bitPattern: n) }
    @inline(__always) static func decode(_ x: Float) -> UInt32 { x.bitPattern }
}
