import Foundation

/// A Parquet file (Parquet's `README.md`, "File Format"): the magic `PAR1` at both ends, and
/// before the final one the footer, a Thrift `FileMetaData` and its 4-byte little-endian length.
/// Opening reads only the footer; `read(column:rowGroup:)` then reads one column chunk's bytes and
/// decodes it, so a caller holds one row group at a time. Every error is a `DatasetError` naming
/// the file, and the column and row group where known; encrypted files (magic `PARE`, or a footer
/// that says so) are refused.
public final class ParquetFile {
    public let path: String
    private enum Source {
        case memory([UInt8])
        case file(FileHandle)
    }
    private let source: Source
    private let length: Int
    let metadata: FileMetaData
    let columns: [ParquetColumn]

    /// Opens the file at `path` and reads its footer.
    public convenience init(path: String) throws(DatasetError) {
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) } catch {
            throw DatasetError(file: path, "cannot open the file for reading")
        }
        let size: UInt64
        do { size = try handle.seekToEnd() } catch { throw DatasetError(file: path, "cannot find the file's size: \(error)") }
        try self.init(name: path, source: .file(handle), length: Int(size))
    }

    /// A Parquet file held in memory; `name` stands for the file in errors.
    public convenience init(bytes: [UInt8], name: String) throws(DatasetError) {
        try self.init(name: name, source: .memory(bytes), length: bytes.count)
    }

    private init(name: String, source: Source, length: Int) throws(DatasetError) {
        path = name
        self.source = source
        self.length = length
        func fail(_ message: String) -> DatasetError { DatasetError(file: name, message) }
        guard length >= 12 else { throw fail("not a Parquet file: \(length) bytes is too short for the PAR1 magic and a footer") }
        let head = try Self.read(source, 0 ..< 4, name: name)
        let tail = try Self.read(source, length - 8 ..< length, name: name)
        if Array(head) == Array("PARE".utf8) || Array(tail.suffix(4)) == Array("PARE".utf8) {
            throw fail("encrypted Parquet files are not supported")
        }
        guard Array(head) == Array("PAR1".utf8) else { throw fail("not a Parquet file: it does not start with the magic PAR1") }
        guard Array(tail.suffix(4)) == Array("PAR1".utf8) else {
            throw fail("not a complete Parquet file: it does not end with the magic PAR1 (cut short?)")
        }
        let footerLength = Int(PlainDecoder.load32(tail, tail.startIndex))
        guard footerLength <= length - 12 else {
            throw fail("the footer length \(footerLength) runs past the start of the file (\(length) bytes)")
        }
        let footer = try Self.read(source, length - 8 - footerLength ..< length - 8, name: name)
        do {
            metadata = try FileMetaData(footer)
            columns = try ParquetSchema.columns(metadata.schema)
            if metadata.encrypted { throw ParquetFormatError("encrypted Parquet files are not supported") }
            var total: Int64 = 0
            for (g, group) in metadata.rowGroups.enumerated() {
                guard group.columns.count == columns.count else {
                    throw ParquetFormatError("row group \(g) has \(group.columns.count) column chunks for \(columns.count) columns")
                }
                total += group.numRows
                guard total <= Int64(Int32.max) else { throw ParquetFormatError("more than \(Int32.max) rows") }
            }
            guard total == metadata.numRows else {
                throw ParquetFormatError("the footer says \(metadata.numRows) rows but its row groups hold \(total)")
            }
        } catch {
            throw fail("bad Parquet footer: \(error)")
        }
    }

    private static func read(_ source: Source, _ range: Range<Int>, name: String) throws(DatasetError) -> ArraySlice<UInt8> {
        switch source {
        case .memory(let bytes): return bytes[range]
        case .file(let handle):
            do {
                try handle.seek(toOffset: UInt64(range.lowerBound))
                let data = try handle.read(upToCount: range.count) ?? Data()
                guard data.count == range.count else { throw DatasetError(file: name, "the file is shorter than expected") }
                return [UInt8](data)[...]
            } catch let e as DatasetError { throw e } catch {
                throw DatasetError(file: name, "read failed: \(error)")
            }
        }
    }

    /// Total rows.
    public var rowCount: Int { Int(metadata.numRows) }
    public var rowGroupCount: Int { metadata.rowGroups.count }
    public func rowCount(rowGroup g: Int) -> Int { Int(metadata.rowGroups[g].numRows) }
    /// The top-level fields, in file order (a list column once).
    public var columnNames: [String] {
        var seen = Set<String>()
        return columns.compactMap { seen.insert($0.name).inserted ? $0.name : nil }
    }

    /// The column named `name` (a top-level field), or nil.
    func column(named name: String) -> ParquetColumn? { columns.first { $0.name == name } }

    /// Where column `name`'s chunk of row group `g` lies in the file (its dictionary and data
    /// pages), after checking that the reader can read it.
    public func byteRange(column name: String, rowGroup g: Int) throws(DatasetError) -> Range<Int> {
        try chunk(column: name, rowGroup: g).range
    }

    /// Decodes column `name` of row group `g`.
    func read(column name: String, rowGroup g: Int) throws(DatasetError) -> (ParquetColumn, ColumnChunkData) {
        let (column, meta, range) = try chunk(column: name, rowGroup: g)
        let bytes = try Self.read(source, range, name: path)
        do {
            return (column, try ColumnChunkReader.read(bytes, column: column, meta: meta, rows: rowCount(rowGroup: g)))
        } catch {
            throw DatasetError(file: path, field: name, "row group \(g): \(error.message)")
        }
    }

    /// Column `name`'s chunk of row group `g`: its metadata and byte range, checked.
    private func chunk(column name: String, rowGroup g: Int) throws(DatasetError) -> (ParquetColumn, ColumnMetaData, range: Range<Int>) {
        guard let column = column(named: name) else { throw DatasetError(file: path, field: name, "no such column") }
        guard g >= 0 && g < rowGroupCount else { throw DatasetError(file: path, field: name, "no row group \(g) (the file has \(rowGroupCount))") }
        guard columns.filter({ $0.name == name }).count == 1 else {
            throw DatasetError(file: path, field: name, "a column with several leaves (a struct) is not supported")
        }
        func fail(_ message: String) -> DatasetError { DatasetError(file: path, field: name, "row group \(g): \(message)") }
        if let why = column.unsupported { throw DatasetError(file: path, field: name, why) }
        let chunk = metadata.rowGroups[g].columns[column.leafIndex]
        if chunk.encrypted { throw DatasetError(file: path, field: name, "encrypted columns are not supported") }
        if let other = chunk.filePath, !other.isEmpty { throw fail("the column's data is in another file (\(other)), which is not supported") }
        guard let meta = chunk.metaData else { throw fail("the column chunk has no metadata") }
        if let codec = ParquetCodec(rawValue: meta.codec) {
            do { try ColumnChunkReader.checkCodec(codec) } catch { throw DatasetError(file: path, field: name, error.message) }
        }
        var start = meta.dataPageOffset
        if let d = meta.dictionaryPageOffset, d > 0, d < start { start = d }
        let footerStart = Int64(length) - 8
        guard start >= 4, meta.totalCompressedSize >= 0, meta.totalCompressedSize <= footerStart - start else {
            throw fail("the column chunk's bytes (offset \(start), \(meta.totalCompressedSize) bytes) lie outside the file's data")
        }
        return (column, meta, Int(start) ..< Int(start + meta.totalCompressedSize))
    }
}
