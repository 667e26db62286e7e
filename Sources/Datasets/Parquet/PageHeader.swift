/// `PageHeader` of `parquet.thrift`, which comes before every page of a column chunk, with the
/// headers of the three page kinds a reader of values needs: `DataPageHeader` (data page v1),
/// `DataPageHeaderV2` and `DictionaryPageHeader`. Index pages and unknown kinds are skipped by
/// their size.
struct PageHeader {
    /// `PageType`: DATA_PAGE = 0, INDEX_PAGE = 1, DICTIONARY_PAGE = 2, DATA_PAGE_V2 = 3.
    var type: Int32 = -1
    var uncompressedPageSize = 0
    var compressedPageSize = 0

    struct DataPage {
        var numValues = 0
        var encoding: Int32 = 0
        var definitionLevelEncoding: Int32 = 3
        var repetitionLevelEncoding: Int32 = 3
    }

    struct DataPageV2 {
        var numValues = 0
        var numNulls = 0
        var numRows = 0
        var encoding: Int32 = 0
        var definitionLevelsByteLength = 0
        var repetitionLevelsByteLength = 0
        var isCompressed = true
    }

    struct DictionaryPage {
        var numValues = 0
        var encoding: Int32 = 0
    }

    var dataPage: DataPage?
    var dataPageV2: DataPageV2?
    var dictionaryPage: DictionaryPage?
    /// Bytes the header itself took.
    var headerLength = 0

    init(_ bytes: ArraySlice<UInt8>) throws(ParquetFormatError) {
        var t = ThriftCompactReader(bytes)
        var seen = Set<Int>()
        try t.beginStruct()
        while let f = try t.readFieldHeader() {
            seen.insert(f.id)
            switch f.id {
            case 1: try t.expect(f, .i32, "type"); type = try t.readI32()
            case 2: try t.expect(f, .i32, "uncompressed_page_size"); uncompressedPageSize = try t.readCount()
            case 3: try t.expect(f, .i32, "compressed_page_size"); compressedPageSize = try t.readCount()
            case 5:
                try t.expect(f, .structure, "data_page_header")
                var p = DataPage()
                try t.beginStruct()
                while let g = try t.readFieldHeader() {
                    switch g.id {
                    case 1: try t.expect(g, .i32, "num_values"); p.numValues = try t.readCount()
                    case 2: try t.expect(g, .i32, "encoding"); p.encoding = try t.readI32()
                    case 3: try t.expect(g, .i32, "definition_level_encoding"); p.definitionLevelEncoding = try t.readI32()
                    case 4: try t.expect(g, .i32, "repetition_level_encoding"); p.repetitionLevelEncoding = try t.readI32()
                    default: try t.skip(g.type)
                    }
                }
                dataPage = p
            case 7:
                try t.expect(f, .structure, "dictionary_page_header")
                var p = DictionaryPage()
                try t.beginStruct()
                while let g = try t.readFieldHeader() {
                    switch g.id {
                    case 1: try t.expect(g, .i32, "num_values"); p.numValues = try t.readCount()
                    case 2: try t.expect(g, .i32, "encoding"); p.encoding = try t.readI32()
                    default: try t.skip(g.type)
                    }
                }
                dictionaryPage = p
            case 8:
                try t.expect(f, .structure, "data_page_header_v2")
                var p = DataPageV2()
                try t.beginStruct()
                while let g = try t.readFieldHeader() {
                    switch g.id {
                    case 1: try t.expect(g, .i32, "num_values"); p.numValues = try t.readCount()
                    case 2: try t.expect(g, .i32, "num_nulls"); p.numNulls = try t.readCount()
                    case 3: try t.expect(g, .i32, "num_rows"); p.numRows = try t.readCount()
                    case 4: try t.expect(g, .i32, "encoding"); p.encoding = try t.readI32()
                    case 5: try t.expect(g, .i32, "definition_levels_byte_length"); p.definitionLevelsByteLength = try t.readCount()
                    case 6: try t.expect(g, .i32, "repetition_levels_byte_length"); p.repetitionLevelsByteLength = try t.readCount()
                    case 7: try t.expect(g, .boolTrue, "is_compressed"); p.isCompressed = try t.readBool(g)
                    default: try t.skip(g.type)
                    }
                }
                dataPageV2 = p
            default: try t.skip(f.type)
            }
        }
        guard seen.contains(1), seen.contains(2), seen.contains(3) else {
            throw ParquetFormatError("a page header without its type or sizes")
        }
        headerLength = t.consumed
    }
}
