import Foundation

/// `--rank_input`: under `mpirun`, how the ranks read a streamed training input (a
/// `FileBatchSource`: Taobao, `--schema` files too large for memory, Parquet row groups). With
/// `share` (the default) each rank parses only its pieces and the ranks exchange the parsed rows
/// (`InputShare`), so every rank still cuts the same batches as one process; with `whole` every
/// rank reads everything. An input held in memory (Census, small files) is read whole by each rank.
extension TrainCommand {
    /// Sets up the ranks' reading of `data` (before the source is wrapped for `--smartstaged`),
    /// and says in the log which mode runs. Returns whether the batches may be prefetched
    /// (`--smartstaged`): not from a shared input, whose exchange is one of the ranks' collective
    /// operations and so runs on the thread that trains. `--smartstaged` given explicitly with a
    /// shared input is refused (exit 2); its default is replaced by parsing the rank's pieces
    /// ahead on loader threads (as `--workqueue`), with a note.
    func shareInput(_ data: LoadedData, _ o: TrainOptions) throws(UsageError) -> Bool {
        guard let c = communicator, c.size > 1 else { return true }
        guard let file = data.source as? FileBatchSource else {
            print("Input: held in memory, read whole by each of the \(c.size) ranks (--rank_input applies to streamed inputs)")
            return true
        }
        let pieces = file.file.pieceCount
        guard o.rankInput == .share else {
            print("Input: each of the \(c.size) ranks reads the whole streamed input (\(pieces) pieces; --rank_input whole)")
            return true
        }
        if o.smartstaged && o.explicitFlags.contains("smartstaged") {
            throw UsageError("--smartstaged prefetches batches on a thread of its own, which cannot take part in the ranks' exchange of "
                             + "the input they share (--rank_input share, the default across \(c.size) ranks); drop --smartstaged "
                             + "(--workqueue still parses pieces ahead on loader threads), or pass --rank_input whole")
        }
        if o.smartstaged {
            printError("note: --smartstaged (on by default) is off across ranks with a shared input, since the ranks exchange the pieces "
                       + "they parse on the thread that trains; each rank parses its pieces ahead on loader threads instead "
                       + "(as --workqueue; --rank_input whole keeps --smartstaged)")
        }
        file.shareInput(among: c, parseAhead: o.smartstaged)
        print("Input: each of the \(c.size) ranks parses its share of the \(pieces) pieces (piece k of each epoch's reading order on "
              + "rank k mod \(c.size)), and the ranks exchange the parsed rows (--rank_input share)")
        if pieces < c.size {
            printError("note: the training input is read in \(pieces) piece\(pieces == 1 ? "" : "s") for \(c.size) ranks, so some ranks parse none of it"
                       + (o.numTrainSamples != nil ? " (--num_train_samples reads a Taobao file as one piece)" : ""))
        }
        return false
    }

    /// Bytes per slice of a streamed `--schema` text file: about 8 MB, or smaller under `mpirun`
    /// so that every rank gets several (slices are cut between blocks of records, and the batches
    /// do not depend on the slicing).
    func schemaSliceBytes(_ totalBytes: Int) -> Int {
        guard worldSize > 1 else { return 8 << 20 }
        return min(8 << 20, max(1, totalBytes / (4 * worldSize)))
    }

    /// Collective (every rank calls it at the same point): the rows each rank parsed from the
    /// streamed input, for summary.json and the log; empty outside a distributed run.
    func inputAccount(_ source: BatchSource) -> (record: [String: Any], line: String?) {
        guard let c = communicator, c.size > 1 else { return ([:], nil) }
        let file = (source as? FileBatchSource) ?? ((source as? PrefetchingSource)?.source as? FileBatchSource)
        let rows = UInt64(file?.rowsParsed ?? 0)
        let parsed = c.allGather([Int32(bitPattern: UInt32(truncatingIfNeeded: rows)), Int32(bitPattern: UInt32(truncatingIfNeeded: rows >> 32))])
            .map { Int(UInt64(UInt32(bitPattern: $0[0])) | UInt64(UInt32(bitPattern: $0[1])) << 32) }
        guard let file else { return (["rank_input": "in_memory"], nil) }
        let mode = file.sharesInput ? RankInput.share.rawValue : RankInput.whole.rawValue
        let line = "Input: --rank_input \(mode); training rows parsed per rank: " + parsed.map(String.init).joined(separator: ", ")
        return (["rank_input": mode, "rows_parsed_per_rank": parsed], line)
    }
}
