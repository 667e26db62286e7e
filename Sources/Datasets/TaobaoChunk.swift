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

    private(set) var count = 0
    private var ids: [Int32] = []
    private var bagOffsets: [Int32] = [0]
    private var labels: [Float] = []
    /// Rows reserved for after each `take()`, so a chunk's arrays grow once.
    private let reserveRows: Int

    init(reserveRows: Int) {
        self.reserveRows = reserveRows
        reserve()
    }

    private mutating func reserve() {
        ids.reserveCapacity(reserveRows * (Self.fieldCount + 8))  // about 4 tags per list in the logs
        bagOffsets.reserveCapacity(reserveRows * Self.fieldCount + 1)
        labels.reserveCapacity(reserveRows * Taobao.taskNames.count)
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
                ids.append(hashedRow(f, bytes, r))
            case .bag:
                var tokenStart = r.lowerBound
                for i in r.lowerBound ... r.upperBound where i == r.upperBound || bytes[i] == UInt8(ascii: "|") {
                    if i > tokenStart { ids.append(hashedRow(f, bytes, tokenStart ..< i)) }
                    tokenStart = i + 1
                }
            case .identity:
                let bucket = try line.price(Self.columns[f], buckets: Taobao.bucketSizes[f], clamp: options.clampPrice,
                                            bytes, path: path, number: number)
                ids.append(Self.offsets[f] + Int32(bucket))
            }
            bagOffsets.append(Int32(ids.count))
        }
        count += 1
    }

    @inline(__always) private func hashedRow(_ f: Int, _ bytes: [UInt8], _ r: Range<Int>) -> Int32 {
        Self.offsets[f] + Int32(FieldHash.key(field: f, bytes, r) % Self.buckets[f])
    }

    /// The rows so far as a `TabularData`, leaving the chunk empty for the next rows.
    mutating func take() -> TabularData {
        let data = TabularData(count: count, denseWidth: 0, dense: [], fieldCount: Self.fieldCount, ids: ids,
                               taskNames: Taobao.taskNames, labels: labels, bagOffsets: bagOffsets)
        count = 0
        ids = []
        bagOffsets = [0]
        labels = []
        reserve()
        return data
    }
}
