/// Encoded Taobao rows collecting until the reader hands them out as one `TabularData`. Every field
/// is stored as a bag, single-valued ones with exactly one id, so one layout serves all 17 fields.
struct TaobaoChunk {
    /// How a field's column becomes ids.
    enum Kind { case hashed, bag, identity }

    static let fieldCount = Taobao.fieldNames.count
    static let columns = Taobao.fieldNames.map { Taobao.columnNames.firstIndex(of: $0)! }
    static let kinds: [Kind] = Taobao.fieldNames.map {
        Taobao.bagFieldNames.contains($0) ? .bag : $0 == Taobao.identityFieldName ? .identity : .hashed
    }
    static let buckets = Taobao.bucketSizes.map(UInt64.init)
    static let offsets = Taobao.schema.fieldOffsets.map(Int32.init)
    static let labelColumns = Taobao.labelColumnNames.map { Taobao.columnNames.firstIndex(of: $0)! }
    /// The raw key of each price bucket: `FieldHash` of its decimal text in the price field.
    static let priceKeys: [UInt64] = {
        let f = Taobao.fieldNames.firstIndex(of: Taobao.identityFieldName)!
        return (0 ..< Taobao.bucketSizes[f]).map { FieldHash.key(field: f, value: String($0)) }
    }()

    private(set) var count = 0
    private var ids: [Int32] = []
    private var bagOffsets: [Int32] = [0]
    private var labels: [Float] = []
    /// Parallel to `ids` when the reader keeps keys (`TaobaoOptions.keepKeys`), else empty.
    private var keys: [UInt64] = []
    private let keepKeys: Bool
    /// Rows reserved for after each `take()`, so a chunk's arrays grow once.
    private let reserveRows: Int

    init(reserveRows: Int, keepKeys: Bool = false) {
        self.reserveRows = reserveRows
        self.keepKeys = keepKeys
        reserve()
    }

    private mutating func reserve() {
        ids.reserveCapacity(reserveRows * (Self.fieldCount + 8))  // about 4 tags per list in the logs
        bagOffsets.reserveCapacity(reserveRows * Self.fieldCount + 1)
        labels.reserveCapacity(reserveRows * Taobao.taskNames.count)
        if keepKeys { keys.reserveCapacity(reserveRows * (Self.fieldCount + 8)) }
    }

    /// Encodes one split line. On an error the chunk is left part-way through the row; the reader
    /// stops there, so it is never handed out.
    mutating func append(_ line: TaobaoLine, _ bytes: [UInt8], path: String, number: Int, options: TaobaoOptions) throws(DatasetError) {
        // A row adds at most one id per byte of its line plus one per field, and the line lies in
        // `bytes`, so this keeps every offset an Int32.
        guard ids.count + bytes.count + Self.fieldCount <= Int(Int32.max) else {
            throw DatasetError(file: path, line: number, "too many ids for one TabularData (2^31); read the file in smaller chunks")
        }
        for column in Self.labelColumns {
            labels.append(try line.label(column, bytes, path: path, number: number))
        }
        for f in 0 ..< Self.fieldCount {
            let r = line.range(Self.columns[f])
            switch Self.kinds[f] {
            case .hashed:
                appendHashed(f, bytes, r)
            case .bag:
                var tokenStart = r.lowerBound
                for i in r.lowerBound ... r.upperBound where i == r.upperBound || bytes[i] == UInt8(ascii: "|") {
                    if i > tokenStart { appendHashed(f, bytes, tokenStart ..< i) }
                    tokenStart = i + 1
                }
            case .identity:
                let bucket = try line.price(Self.columns[f], buckets: Taobao.bucketSizes[f], clamp: options.clampPrice,
                                            bytes, path: path, number: number)
                ids.append(Self.offsets[f] + Int32(bucket))
                if keepKeys { keys.append(Self.priceKeys[bucket]) }
            }
            bagOffsets.append(Int32(ids.count))
        }
        count += 1
    }

    /// The fused-table row of the value in `bytes[r]` in field `f`, and its key when kept.
    @inline(__always) private mutating func appendHashed(_ f: Int, _ bytes: [UInt8], _ r: Range<Int>) {
        let key = FieldHash.key(field: f, bytes, r)
        ids.append(Self.offsets[f] + Int32(key % Self.buckets[f]))
        if keepKeys { keys.append(key) }
    }

    /// The rows so far as a `TabularData`, leaving the chunk empty for the next rows.
    mutating func take() -> TabularData {
        let data = TabularData(count: count, denseWidth: 0, dense: [], fieldCount: Self.fieldCount, ids: ids,
                               taskNames: Taobao.taskNames, labels: labels, bagOffsets: bagOffsets, keys: keepKeys ? keys : nil)
        count = 0
        keys = []
        ids = []
        bagOffsets = [0]
        labels = []
        reserve()
        return data
    }
}
