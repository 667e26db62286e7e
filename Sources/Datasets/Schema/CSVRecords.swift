/// Records of a delimited text file (RFC 4180): a record ends at a line break (`\n` or `\r\n`)
/// outside quotes, so a quoted field may hold line breaks, delimiters and doubled quotes.
extension ChunkReader {
    /// Longest record accepted: a quote that never closes stops here rather than swallowing the
    /// rest of the file.
    static let maxRecordBytes = 16 << 20

    /// Calls `body` with blocks of at most `count` records, each record without its final line
    /// break, numbered by the line it starts on (blank lines are passed too, and numbered as an
    /// editor numbers them). A record may span lines when a quoted field holds line breaks.
    /// `body` returns false to stop. An unterminated quote is an error naming the line where the
    /// record starts.
    func forEachRecordBlock(quote: UInt8, count: Int, firstNumber: Int = 1,
                            _ body: (LineBlock) throws(DatasetError) -> Bool) throws(DatasetError) {
        precondition(count > 0, "ChunkReader.forEachRecordBlock: count must be positive, got \(count)")
        defer { close() }
        // The bytes read and not yet handed over: the records of the unfinished block, then the
        // unfinished record from `start` on. A full block is handed over as ranges into this buffer,
        // which it shares (no copy of its bytes); only the bytes after it are moved down.
        var buffer: [UInt8] = []
        var scanned = 0       // bytes of `buffer` already scanned
        var start = 0         // where the unfinished record starts in `buffer`
        var inQuote = false   // the scan stands inside a quoted field
        var number = firstNumber  // the line the unfinished record starts on
        var breaksInside = 0  // line breaks inside quotes in the unfinished record
        var consumed = 0      // input bytes before buffer[0]
        var block = LineBlock(numbers: [])
        block.lines.reserveCapacity(count)
        block.numbers!.reserveCapacity(count)
        // Records found in the current chunk: (range in `buffer`, line breaks inside quotes).
        var ends: [(Range<Int>, Int)] = []
        while try read(appendingTo: &buffer) {
            ends.removeAll(keepingCapacity: true)
            var quoted = inQuote, inside = breaksInside
            buffer.withUnsafeBufferPointer { bytes in
                CSVKernels.findRecords(bytes, from: scanned, quote: quote, quoted: &quoted, inside: &inside, start: &start, ends: &ends)
            }
            inQuote = quoted
            breaksInside = inside
            for (range, breaks) in ends {
                if block.lines.isEmpty { block.offset = consumed + range.lowerBound }
                block.lines.append(range)
                block.numbers!.append(number)
                number += breaks + 1
                if block.lines.count == count {
                    block.bytes = buffer
                    let more = try body(block)
                    // `buffer` is again the only owner of its storage unless `body` kept a copy of
                    // the block (then the next change to `buffer` copies it, as arrays do).
                    block.bytes = []
                    block.lines.removeAll(keepingCapacity: true)
                    block.numbers!.removeAll(keepingCapacity: true)
                    guard more else { return }
                }
            }
            // Drop what no unfinished block or record needs.
            let keep = block.lines.first?.lowerBound ?? start
            if keep > 0 {
                buffer.removeSubrange(0 ..< keep)
                consumed += keep
                start -= keep
                for i in block.lines.indices { block.lines[i] = block.lines[i].lowerBound - keep ..< block.lines[i].upperBound - keep }
            }
            scanned = buffer.count
            if buffer.count - start > Self.maxRecordBytes {
                throw DatasetError(file: path, line: number, inQuote
                    ? "unterminated quote: a quoted field of the record starting here runs on for more than \(Self.maxRecordBytes >> 20) MiB"
                    : "record longer than \(Self.maxRecordBytes >> 20) MiB; not a text data file?")
            }
        }
        if inQuote {
            throw DatasetError(file: path, line: number, "unterminated quote: a quoted field of the record starting on this line never closes")
        }
        if start < buffer.count {
            let end = buffer.last == 0x0D ? buffer.count - 1 : buffer.count
            if block.lines.isEmpty { block.offset = consumed + start }
            block.lines.append(start ..< end)
            block.numbers!.append(number)
        }
        if !block.lines.isEmpty {
            block.bytes = buffer
            _ = try body(block)
        }
    }
}

/// The fields of one record: `CSVFields.split` finds them, unquoting quoted fields into a buffer of
/// its own; field `k` is then `bytes[ranges[k]]` of `source` (the record's bytes, or the buffer
/// when the record had quotes).
struct CSVFields {
    let delimiter: UInt8
    let quote: UInt8
    /// Where field `k` lies, in the bytes `split` returned.
    var ranges: [Range<Int>] = []
    /// The unquoted copy of a record with quotes.
    private var unquoted: [UInt8] = []

    init(delimiter: UInt8, quote: UInt8) {
        self.delimiter = delimiter
        self.quote = quote
        ranges.reserveCapacity(64)
    }

    var count: Int { ranges.count }

    /// Splits `bytes[record]`; returns the bytes the `ranges` index (`bytes`, or the unquoted copy).
    /// A quote that opens inside an unquoted field, or text after a closing quote, is an error whose
    /// message names the 1-based column.
    mutating func split(_ bytes: [UInt8], _ record: Range<Int>) throws(CSVFieldError) -> [UInt8] {
        ranges.removeAll(keepingCapacity: true)
        var start = record.lowerBound
        var i = start
        let end = record.upperBound
        while i < end {
            let b = bytes[i]
            if b == delimiter {
                ranges.append(start ..< i)
                start = i + 1
            } else if b == quote {
                return try splitQuoted(bytes, record)
            }
            i += 1
        }
        ranges.append(start ..< end)
        return bytes
    }

    /// The slow path, for a record with quotes: fields copied into `unquoted`, quotes removed.
    private mutating func splitQuoted(_ bytes: [UInt8], _ record: Range<Int>) throws(CSVFieldError) -> [UInt8] {
        ranges.removeAll(keepingCapacity: true)
        unquoted.removeAll(keepingCapacity: true)
        var i = record.lowerBound
        let end = record.upperBound
        while true {
            let fieldStart = unquoted.count
            if i < end && bytes[i] == quote {
                i += 1
                while true {
                    guard i < end else { throw CSVFieldError(column: ranges.count + 1, message: "unterminated quote") }
                    if bytes[i] == quote {
                        if i + 1 < end && bytes[i + 1] == quote {
                            unquoted.append(quote)
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    unquoted.append(bytes[i])
                    i += 1
                }
                if i < end && bytes[i] != delimiter {
                    throw CSVFieldError(column: ranges.count + 1, message: "text after the closing quote of a quoted field (a quote inside a field is written twice: \"\")")
                }
            } else {
                while i < end && bytes[i] != delimiter {
                    if bytes[i] == quote {
                        throw CSVFieldError(column: ranges.count + 1, message: "a quote inside an unquoted field; quote the whole field and write the quote twice (\"\")")
                    }
                    unquoted.append(bytes[i])
                    i += 1
                }
            }
            ranges.append(fieldStart ..< unquoted.count)
            guard i < end else { break }
            i += 1  // the delimiter
            if i == end { ranges.append(unquoted.count ..< unquoted.count); break }
        }
        return unquoted
    }
}

/// A field that breaks the quoting rules; the reader adds the file and line.
struct CSVFieldError: Error {
    /// 1-based.
    let column: Int
    let message: String
}
