/// One column chunk (one column of one row group) decoded page by page, after Parquet's
/// `README.md` ("Column chunks", "Data Pages") and `Encodings.md`: an optional dictionary page,
/// then data pages, v1 (levels and values compressed together, levels length-prefixed) or v2
/// (levels uncompressed and unprefixed in front, then the possibly compressed values). Levels use
/// the RLE/bit-packed hybrid (or the old BIT_PACKED); values PLAIN, a dictionary (PLAIN_DICTIONARY
/// and RLE_DICTIONARY) or the delta encodings. Sizes are checked against the chunk's bytes.
struct ColumnChunkData {
    /// The non-null values, in order.
    var values: ParquetValues
    // The values while pages are being read, in the array of the column's type (appended to in
    // place, so a chunk of many pages is not copied page by page).
    var booleans: [Bool] = []
    var int32s: [Int32] = []
    var int64s: [Int64] = []
    var floats: [Float] = []
    var doubles: [Double] = []
    var byteArrays = ParquetByteArrays()

    mutating func append(_ page: ParquetValues) {
        switch page {
        case .boolean(let v): booleans += v
        case .int32(let v): int32s += v
        case .int64(let v): int64s += v
        case .float(let v): floats += v
        case .double(let v): doubles += v
        case .byteArray(let v): byteArrays.append(contentsOf: v)
        }
    }

    /// Appends `dictionary[i]` for each index (all checked in range).
    mutating func append(_ dictionary: ParquetValues, at indices: [Int32]) {
        @inline(__always) func gather<T>(_ d: [T], into out: inout [T]) {
            out.reserveCapacity(out.count + indices.count)
            for i in indices { out.append(d[Int(i)]) }
        }
        switch dictionary {
        case .boolean(let d): gather(d, into: &booleans)
        case .int32(let d): gather(d, into: &int32s)
        case .int64(let d): gather(d, into: &int64s)
        case .float(let d): gather(d, into: &floats)
        case .double(let d): gather(d, into: &doubles)
        case .byteArray(let d): for i in indices { byteArrays.append(d[Int(i)]) }
        }
    }

    /// Moves the accumulated values into `values`.
    mutating func finish(_ type: ParquetPhysicalType) {
        switch type {
        case .boolean: values = .boolean(booleans)
        case .int32: values = .int32(int32s)
        case .int64: values = .int64(int64s)
        case .float: values = .float(floats)
        case .double: values = .double(doubles)
        default: values = .byteArray(byteArrays)
        }
        (booleans, int32s, int64s, floats, doubles, byteArrays) = ([], [], [], [], [], ParquetByteArrays())
    }
    /// One per level slot, or empty when the column's maximum definition level is 0.
    var definitionLevels: [UInt8] = []
    /// One per level slot, or empty for a flat column.
    var repetitionLevels: [UInt8] = []
    /// Level slots (= rows for a flat column).
    var levelCount = 0
}

enum ColumnChunkReader {
    /// Decodes `bytes`, the chunk's pages, for `column` whose metadata is `meta`; `rows` is the row
    /// group's row count, which a flat column must have as many values as.
    static func read(_ bytes: ArraySlice<UInt8>, column: ParquetColumn, meta: ColumnMetaData, rows: Int) throws(ParquetFormatError) -> ColumnChunkData {
        let type = column.type!
        guard meta.type == type else { throw ParquetFormatError("the chunk's type \(meta.type) differs from the schema's \(type)") }
        guard let codec = ParquetCodec(rawValue: meta.codec) else { throw ParquetFormatError("unknown compression codec \(meta.codec)") }
        try checkCodec(codec)
        guard meta.numValues >= 0, meta.numValues <= Int64(Int32.max) else { throw ParquetFormatError("the chunk declares \(meta.numValues) values") }
        let expected = Int(meta.numValues)
        if column.maxRepetitionLevel == 0 && expected != rows {
            throw ParquetFormatError("the chunk has \(expected) values but the row group \(rows) rows")
        }
        var data = ColumnChunkData(values: ParquetValues(empty: type))
        var dictionary: ParquetValues?
        var cursor = ByteCursor(bytes, what: "page data")
        let defWidth = bitWidth(column.maxDefinitionLevel), repWidth = bitWidth(column.maxRepetitionLevel)
        while data.levelCount < expected {
            guard !cursor.isAtEnd else {
                throw ParquetFormatError("the chunk's pages end after \(data.levelCount) of its \(expected) values")
            }
            let header = try PageHeader(bytes[cursor.position...])
            _ = try cursor.take(header.headerLength)
            guard header.compressedPageSize <= cursor.remaining else {
                throw ParquetFormatError("a page of \(header.compressedPageSize) bytes runs past the end of its column chunk (\(cursor.remaining) bytes left)")
            }
            let page = try cursor.take(header.compressedPageSize)
            switch header.type {
            case 2:
                guard let d = header.dictionaryPage else { throw ParquetFormatError("a dictionary page without its header") }
                guard dictionary == nil else { throw ParquetFormatError("a second dictionary page") }
                guard d.encoding == ParquetEncoding.plain.rawValue || d.encoding == ParquetEncoding.plainDictionary.rawValue else {
                    throw ParquetFormatError("a dictionary page encoded \(encodingName(d.encoding)); only PLAIN is defined")
                }
                let raw = try decompress(page, codec: codec, size: header.uncompressedPageSize)
                var values = ByteCursor(raw[...], what: "dictionary page")
                dictionary = try PlainDecoder.decode(&values, count: d.numValues, type: type)
            case 0:
                guard let p = header.dataPage else { throw ParquetFormatError("a data page without its header") }
                guard p.numValues <= expected - data.levelCount else { throw ParquetFormatError("a page of \(p.numValues) values past the chunk's \(expected)") }
                let raw = try decompress(page, codec: codec, size: header.uncompressedPageSize)
                var c = ByteCursor(raw[...], what: "data page")
                var rep: [Int32] = [], def: [Int32] = []
                if column.maxRepetitionLevel > 0 {
                    c = ByteCursor(c.bytes, what: "repetition levels")
                    rep = try levels(&c, encoding: p.repetitionLevelEncoding, count: p.numValues, width: repWidth)
                }
                if column.maxDefinitionLevel > 0 {
                    c = ByteCursor(c.bytes[c.position...], what: "definition levels")
                    def = try levels(&c, encoding: p.definitionLevelEncoding, count: p.numValues, width: defWidth)
                }
                let present = try append(&data, rep: rep, def: def, count: p.numValues, column: column)
                var v = ByteCursor(c.bytes[c.position...], what: "values")
                try appendValues(&data, &v, encoding: p.encoding, count: present, type: type, dictionary: dictionary)
            case 3:
                guard let p = header.dataPageV2 else { throw ParquetFormatError("a data page v2 without its header") }
                guard p.numValues <= expected - data.levelCount else { throw ParquetFormatError("a page of \(p.numValues) values past the chunk's \(expected)") }
                let levelBytes = p.repetitionLevelsByteLength + p.definitionLevelsByteLength
                guard levelBytes <= page.count else { throw ParquetFormatError("a page's level lengths run past the page") }
                var rep: [Int32] = [], def: [Int32] = []
                if column.maxRepetitionLevel > 0 {
                    var c = ByteCursor(page.prefix(p.repetitionLevelsByteLength), what: "repetition levels")
                    rep = try RLEHybridDecoder.decode(&c, count: p.numValues, bitWidth: repWidth)
                }
                if column.maxDefinitionLevel > 0 {
                    var c = ByteCursor(page.dropFirst(p.repetitionLevelsByteLength).prefix(p.definitionLevelsByteLength), what: "definition levels")
                    def = try RLEHybridDecoder.decode(&c, count: p.numValues, bitWidth: defWidth)
                }
                let present = try append(&data, rep: rep, def: def, count: p.numValues, column: column)
                guard p.numValues - present == p.numNulls || column.maxDefinitionLevel == 0 else {
                    throw ParquetFormatError("the page header says \(p.numNulls) nulls, the definition levels \(p.numValues - present)")
                }
                let body = page.dropFirst(levelBytes)
                let raw: [UInt8]
                if p.isCompressed && codec != .uncompressed {
                    raw = try decompress(body, codec: codec, size: header.uncompressedPageSize - levelBytes)
                } else {
                    raw = Array(body)
                }
                var v = ByteCursor(raw[...], what: "values")
                try appendValues(&data, &v, encoding: p.encoding, count: present, type: type, dictionary: dictionary)
            default:
                continue  // index pages and kinds this reader does not know
            }
        }
        data.finish(type)
        return data
    }

    static func checkCodec(_ codec: ParquetCodec) throws(ParquetFormatError) {
        switch codec {
        case .uncompressed, .snappy, .gzip: return
        case .zstd:
            throw ParquetFormatError("compression ZSTD is not supported; rewrite the file with snappy, e.g. python3 -c \"import pyarrow.parquet as pq; pq.write_table(pq.read_table('in.parquet'), 'out.parquet', compression='snappy')\"")
        default:
            throw ParquetFormatError("compression \(codec) is not supported (UNCOMPRESSED, SNAPPY and GZIP are); rewrite the file with snappy, e.g. with pyarrow: pq.write_table(pq.read_table('in.parquet'), 'out.parquet', compression='snappy')")
        }
    }

    static func bitWidth(_ maxLevel: Int) -> Int {
        var w = 0
        while (1 << w) <= maxLevel { w += 1 }
        return w
    }

    static func encodingName(_ raw: Int32) -> String { ParquetEncoding(rawValue: raw)?.description ?? "\(raw) (unknown)" }

    /// Decompresses a page whose header says it holds `size` bytes uncompressed.
    static func decompress(_ page: ArraySlice<UInt8>, codec: ParquetCodec, size: Int) throws(ParquetFormatError) -> [UInt8] {
        let out: [UInt8]
        do {
            switch codec {
            case .uncompressed: out = Array(page)
            case .snappy: out = try Snappy.decompress(page)
            case .gzip: out = try GzipDecoder.decompress(Array(page))
            default: throw ParquetFormatError("compression \(codec) is not supported")
            }
        } catch let e as CompressionError {
            throw ParquetFormatError("a \(codec) page: \(e)")
        } catch let e as ParquetFormatError {
            throw e
        } catch {
            throw ParquetFormatError("\(error)")
        }
        guard out.count == size else { throw ParquetFormatError("a page decompressed to \(out.count) bytes, but its header says \(size)") }
        return out
    }

    static func levels(_ c: inout ByteCursor, encoding: Int32, count: Int, width: Int) throws(ParquetFormatError) -> [Int32] {
        switch ParquetEncoding(rawValue: encoding) {
        case .rle: return try RLEHybridDecoder.decodeLengthPrefixed(&c, count: count, bitWidth: width)
        case .bitPacked: return try RLEHybridDecoder.decodeBitPacked(&c, count: count, bitWidth: width)
        default: throw ParquetFormatError("levels encoded \(encodingName(encoding)); only RLE and BIT_PACKED are defined")
        }
    }

    /// Adds a page's levels to `data`, checking them; returns how many values are present (not null).
    static func append(_ data: inout ColumnChunkData, rep: [Int32], def: [Int32], count: Int, column: ParquetColumn) throws(ParquetFormatError) -> Int {
        var present = count
        if column.maxDefinitionLevel > 0 {
            present = 0
            data.definitionLevels.reserveCapacity(data.definitionLevels.count + count)
            for d in def {
                guard d >= 0, Int(d) <= column.maxDefinitionLevel else { throw ParquetFormatError("definition level \(d) above the column's maximum \(column.maxDefinitionLevel)") }
                if Int(d) == column.maxDefinitionLevel { present += 1 }
                data.definitionLevels.append(UInt8(d))
            }
        }
        if column.maxRepetitionLevel > 0 {
            for (i, r) in rep.enumerated() {
                guard r >= 0, Int(r) <= column.maxRepetitionLevel else { throw ParquetFormatError("repetition level \(r) above the column's maximum \(column.maxRepetitionLevel)") }
                guard i > 0 || data.levelCount > 0 || r == 0 else { throw ParquetFormatError("the chunk's first repetition level is \(r), not 0") }
                data.repetitionLevels.append(UInt8(r))
            }
        }
        data.levelCount += count
        return present
    }

    /// Adds a page's `count` present values to `data`; dictionary indices are looked up straight
    /// into the chunk's values.
    static func appendValues(_ data: inout ColumnChunkData, _ c: inout ByteCursor, encoding: Int32, count: Int,
                             type: ParquetPhysicalType, dictionary: ParquetValues?) throws(ParquetFormatError) {
        switch ParquetEncoding(rawValue: encoding) {
        case .plainDictionary, .rleDictionary:
            guard let dictionary else { throw ParquetFormatError("a dictionary-encoded page without a dictionary page before it") }
            let width = Int(try c.byte())
            let indices = try RLEHybridDecoder.decode(&c, count: count, bitWidth: width)
            let size = Int32(truncatingIfNeeded: dictionary.count)
            for i in indices where i < 0 || i >= size {
                throw ParquetFormatError("dictionary index \(i) out of range (the dictionary has \(size) values)")
            }
            data.append(dictionary, at: indices)
        default:
            data.append(try values(&c, encoding: encoding, count: count, type: type))
        }
    }

    /// A page's `count` present values, in an encoding other than a dictionary's.
    static func values(_ c: inout ByteCursor, encoding: Int32, count: Int, type: ParquetPhysicalType) throws(ParquetFormatError) -> ParquetValues {
        switch ParquetEncoding(rawValue: encoding) {
        case .plain:
            return try PlainDecoder.decode(&c, count: count, type: type)
        case .rle where type == .boolean:
            return .boolean(try RLEHybridDecoder.decodeLengthPrefixed(&c, count: count, bitWidth: 1).map { $0 != 0 })
        case .deltaBinaryPacked where type == .int32:
            return .int32(try DeltaDecoders.binaryPacked(&c, expected: count).map { Int32(truncatingIfNeeded: $0) })
        case .deltaBinaryPacked where type == .int64:
            return .int64(try DeltaDecoders.binaryPacked(&c, expected: count))
        case .deltaLengthByteArray where type == .byteArray:
            return .byteArray(try DeltaDecoders.lengthByteArray(&c, count: count))
        case .deltaByteArray where type == .byteArray:
            return .byteArray(try DeltaDecoders.byteArray(&c, count: count))
        default:
            throw ParquetFormatError("values encoded \(encodingName(encoding)) are not supported for \(type)")
        }
    }
}
