/// The on-disk layout of a `FileRowStorage` directory, all little-endian 32-bit words.
///
/// `rows.dat`: a 16-word header, then `slotCount` slots of `4 + width` words:
/// `[keyLo, keyHi, tag, crc, value_0 ... value_{width-1}]`. An empty slot is all zeros (so a
/// dense table starts as a sparse file of holes); an occupied one has `tag == occupiedTag` and
/// `crc` = CRC-32C of `[slotLo, slotHi, keyLo, keyHi, tag, values...]`: including the slot number
/// catches a record written to the wrong place as well as a damaged one.
///
/// `commit.wal`: the same 16-word header (describing the state after the commit), then entries
/// `[slotLo, slotHi, slot image]`, the named arrays, and the trailer
/// `[entryCountLo, entryCountHi, crc, endMagic]`. `spill.tmp` holds entries like the log's, with
/// no header; it is scratch, emptied at every commit and ignored at open.
enum RowFileFormat {
    static let headerWords = 16
    static let occupiedTag: UInt32 = 0x544F_4C53  // "SLOT"
    static let dataMagic = RowWords.magic("MMOEROWS")
    static let logMagic = RowWords.magic("MMOEWAL1")
    static let arraysMagic = RowWords.magic("MMOEARRS")
    static let logEnd: UInt32 = 0x2144_4E45  // "END!"
    static let arraysEnd: UInt32 = 0x2153_5241  // "ARS!"
    static let version: UInt32 = 1

    static let dataFile = "rows.dat"
    static let logFile = "commit.wal"
    /// Beside a file name: phase one of a two-phase commit (`DurableRowStorage.prepare`).
    static let preparedSuffix = ".prepared"
    static let spillFile = "spill.tmp"
    static let arraysFile = "arrays.dat"

    static func slotWords(width: Int) -> Int { 4 + width }
    static func entryWords(width: Int) -> Int { 6 + width }

    /// Writes slot `slot`'s occupied image (`key`, `values[from ..< from + width]`) into
    /// `buffer[at...]`.
    static func encode(slot: Int, key: UInt64, values: [Float], from: Int, width: Int, into buffer: inout [UInt32], at: Int) {
        let (klo, khi) = RowWords.split(key)
        buffer[at] = klo
        buffer[at + 1] = khi
        buffer[at + 2] = occupiedTag
        for j in 0..<width { buffer[at + 4 + j] = values[from + j].bitPattern }
        buffer[at + 3] = checksum(slot: slot, buffer, at: at, width: width)
    }

    static func encodeEmpty(into buffer: inout [UInt32], at: Int, width: Int) {
        for j in 0..<slotWords(width: width) { buffer[at + j] = 0 }
    }

    static func checksum(slot: Int, _ buffer: [UInt32], at: Int, width: Int) -> UInt32 {
        var c = CRC32C()
        let (slo, shi) = RowWords.split(UInt64(slot))
        c.update(slo)
        c.update(shi)
        c.update(buffer, from: at, count: 3)
        c.update(buffer, from: at + 4, count: width)
        return c.value
    }

    /// Reads the slot image at `buffer[at...]`: nil when empty, the key when occupied; an error
    /// naming `file` and the slot when it is neither (damage, or a record of another slot).
    static func decode(slot: Int, _ buffer: [UInt32], at: Int, width: Int, file: String) throws(RowStorageError) -> UInt64? {
        let tag = buffer[at + 2]
        if tag == 0 {
            for j in 0..<slotWords(width: width) where buffer[at + j] != 0 {
                throw RowStorageError("\(file): slot \(slot) is damaged (marked empty but not blank)")
            }
            return nil
        }
        guard tag == occupiedTag else { throw RowStorageError("\(file): slot \(slot) is damaged (bad tag \(RowWords.hex(tag)))") }
        guard checksum(slot: slot, buffer, at: at, width: width) == buffer[at + 3] else {
            throw RowStorageError("\(file): slot \(slot) is corrupt (checksum mismatch)")
        }
        return RowWords.join(buffer[at], buffer[at + 1])
    }

    /// The header of the data file and of a commit log.
    struct Header: Equatable {
        var width: Int
        /// 0 for sparse keys.
        var denseCapacity: Int
        var slotCount: Int
        var count: Int
        var generation: UInt64
        /// The commit that last changed the named arrays (`arrays.dat` is rewritten only then).
        var arraysGeneration: UInt64 = 0

        func words(magic: (UInt32, UInt32)) -> [UInt32] {
            var w = [UInt32](repeating: 0, count: RowFileFormat.headerWords)
            (w[0], w[1]) = magic
            w[2] = RowFileFormat.version
            w[3] = UInt32(width)
            w[4] = denseCapacity > 0 ? 0 : 1
            (w[6], w[7]) = RowWords.split(UInt64(denseCapacity))
            (w[8], w[9]) = RowWords.split(UInt64(slotCount))
            (w[10], w[11]) = RowWords.split(UInt64(count))
            (w[12], w[13]) = RowWords.split(generation)
            (w[5], w[14]) = RowWords.split(arraysGeneration)
            w[15] = CRC32C.of(w, count: 15)
            return w
        }

        init(width: Int, denseCapacity: Int, slotCount: Int, count: Int, generation: UInt64) {
            (self.width, self.denseCapacity, self.slotCount, self.count, self.generation) = (width, denseCapacity, slotCount, count, generation)
        }

        /// Parses and checks a header; `what` names the file's role in errors.
        init(_ w: [UInt32], magic: (UInt32, UInt32), file: String, what: String) throws(RowStorageError) {
            guard w.count >= RowFileFormat.headerWords else { throw RowStorageError("\(file): \(what) is truncated (no complete header)") }
            guard w[0] == magic.0, w[1] == magic.1 else { throw RowStorageError("\(file): not a \(what) (foreign file: wrong magic number)") }
            guard CRC32C.of(w, count: 15) == w[15] else { throw RowStorageError("\(file): \(what) header is corrupt (checksum mismatch)") }
            guard w[2] == RowFileFormat.version else { throw RowStorageError("\(file): \(what) of format version \(w[2]); this build reads version \(RowFileFormat.version)") }
            width = Int(w[3])
            denseCapacity = Int(RowWords.join(w[6], w[7]))
            guard (w[4] == 0) == (denseCapacity > 0), width > 0 else { throw RowStorageError("\(file): \(what) header is inconsistent") }
            slotCount = Int(RowWords.join(w[8], w[9]))
            count = Int(RowWords.join(w[10], w[11]))
            generation = RowWords.join(w[12], w[13])
            arraysGeneration = RowWords.join(w[5], w[14])
            guard arraysGeneration <= generation, count <= slotCount, denseCapacity == 0 || slotCount == denseCapacity else {
                throw RowStorageError("\(file): \(what) header is inconsistent (\(count) records in \(slotCount) slots)")
            }
        }

        var keysDescription: String { denseCapacity > 0 ? "dense keys below \(denseCapacity)" : "sparse 64-bit keys" }
    }
}
