import Datasets

extension SlicedFile {
    /// `--valid_fraction` on any streamed input (text slices, Parquet row groups): one pass over
    /// every piece counts the rows on each side of `split` (batches per epoch need the training
    /// count; the pass also finds a bad piece before training); training then skips the held-out
    /// rows as it streams, in the same piece order, and the validation set reads the pieces again
    /// in index order keeping only them. `ValidationSplit` decides by a row's features alone, so
    /// the rows held out are the ones the in-memory split of the same rows holds out.
    public func holdingOut(_ split: ValidationSplit) throws -> (train: SlicedFile, valid: EvalData, kept: Int, heldOut: Int) {
        var kept = 0, heldOut = 0
        for index in 0 ..< pieceCount {
            try readPiece(index) { chunk in
                for r in 0 ..< chunk.count { if split.holdsOut(chunk, row: r) { heldOut += 1 } else { kept += 1 } }
                return true
            }
        }
        let whole = self
        let train = SlicedFile(rows: kept, pieces: pieceCount, order: order) { index, body in
            try whole.readPiece(index) { chunk in
                let rows = (0 ..< chunk.count).filter { !split.holdsOut(chunk, row: $0) }
                return rows.isEmpty ? true : try body(rows.count == chunk.count ? chunk : chunk.gathering(rows))
            }
        }
        let valid = EvalData { body in
            for index in 0 ..< whole.pieceCount {
                try whole.readPiece(index) { chunk in
                    let rows = (0 ..< chunk.count).filter { split.holdsOut(chunk, row: $0) }
                    if !rows.isEmpty { try body(rows.count == chunk.count ? chunk : chunk.gathering(rows)) }
                    return true
                }
            }
        }
        return (train, valid, kept, heldOut)
    }
}
