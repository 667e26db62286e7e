import Foundation
import Tensor
import Datasets

/// Your own data as Parquet (`--schema FILE` with `.parquet` training files): the schema's columns
/// are bound by name in every file, the transforms fitted over the rows (`SchemaParquetScan`), and
/// the rows held in memory when small, else streamed through `FileBatchSource` with each row group
/// a piece, in a seeded order over all files each epoch (`SlicedFile.seededOrder`, as
/// `--parquet_stream` reads OneFlow's folder) and shuffled within `--shuffle_window` rows.
extension TrainCommand {
    func schemaParquetTraining(_ schema: DataSchema, _ paths: [String], inMemory: Bool, keepKeys: Bool, _ o: TrainOptions) throws -> SchemaTraining {
        let scan = try SchemaParquetScan(schema: schema, paths: paths, keepRows: inMemory, keepKeys: keepKeys, maxRows: o.numTrainSamples)
        let groups = scan.rowGroups
        let pieces = "\(groups.count) row group\(groups.count == 1 ? "" : "s"), in a seeded order each epoch"
        guard !inMemory else { return SchemaTraining(schema: scan.schema, rows: scan.rows, data: scan.data, stream: nil, pieces: pieces) }
        let reader = SchemaParquetReader(schema: scan.schema, keepKeys: keepKeys)
        let stream = SlicedFile(rows: scan.rows, pieces: groups.count, order: SlicedFile.seededOrder(count: groups.count, seed: o.seed)) { index, body in
            let ref = groups[index]
            let file = try ParquetFile(path: ref.path)
            guard ref.rowGroup < file.rowGroupCount, file.rowCount(rowGroup: ref.rowGroup) >= ref.rows else {
                throw DatasetError(file: ref.path, "row group \(ref.rowGroup): the file changed since it was scanned (it no longer has \(ref.rows) rows there)")
            }
            _ = try body(try reader.read(file, rowGroup: ref.rowGroup, rows: 0 ..< ref.rows, binding: try reader.bind(file)))
        }
        return SchemaTraining(schema: scan.schema, rows: scan.rows, data: nil, stream: stream, window: try shuffleWindow(o), pieces: pieces)
    }
}
