/// What is wrong with a compressed stream: DEFLATE (RFC 1951), its gzip framing (RFC 1952) or a
/// raw Snappy block. One case per kind of malformed input, as puff.c returns one distinct negative
/// code per case, so tests can tell them apart; `description` is the sentence put in front of the
/// user (after the file's name).
public enum CompressionError: Error, Equatable, CustomStringConvertible {
    /// The input ended before the stream did (a cut file).
    case truncated
    /// Reading more compressed bytes failed.
    case readFailed(String)
    // DEFLATE
    case invalidBlockType
    case storedLengthMismatch
    case tooManyCodes
    case incompleteCodeLengthCode
    case repeatWithoutPreviousLength
    case repeatPastEnd
    case missingEndOfBlock
    case invalidLiteralLengthCode
    case invalidDistanceCode
    case invalidSymbol
    case distanceTooFarBack
    // gzip
    case notGzip
    case unsupportedMethod(Int)
    case reservedFlags
    case checksumMismatch(expected: UInt32, actual: UInt32)
    case lengthMismatch(expected: UInt32, actual: UInt32)
    case trailingData
    // Snappy
    case snappy(String)
    /// The decompressed size differs from the size the container (a Parquet page header) declared.
    case sizeMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .truncated: "the compressed data ends early (the file is cut short)"
        case .readFailed(let why): "read failed: \(why)"
        case .invalidBlockType: "corrupt deflate data: invalid block type 3"
        case .storedLengthMismatch: "corrupt deflate data: a stored block's length and its complement disagree"
        case .tooManyCodes: "corrupt deflate data: a dynamic block declares too many length or distance codes"
        case .incompleteCodeLengthCode: "corrupt deflate data: incomplete or over-subscribed code-length code"
        case .repeatWithoutPreviousLength: "corrupt deflate data: a repeat of the previous code length comes first"
        case .repeatPastEnd: "corrupt deflate data: a code-length repeat runs past the end of the lengths"
        case .missingEndOfBlock: "corrupt deflate data: the literal/length code has no end-of-block symbol"
        case .invalidLiteralLengthCode: "corrupt deflate data: incomplete or over-subscribed literal/length code"
        case .invalidDistanceCode: "corrupt deflate data: incomplete or over-subscribed distance code"
        case .invalidSymbol: "corrupt deflate data: a code that no symbol has, or an invalid length or distance symbol"
        case .distanceTooFarBack: "corrupt deflate data: a back-reference before the start of the output"
        case .notGzip: "not gzip data (the first two bytes are not 1f 8b)"
        case .unsupportedMethod(let m): "gzip compression method \(m) is not deflate (8)"
        case .reservedFlags: "corrupt gzip header: reserved flag bits are set"
        case .checksumMismatch(let e, let a):
            "corrupt gzip data: the trailer's CRC-32 is \(hex(e)) but the decompressed data's is \(hex(a))"
        case .lengthMismatch(let e, let a):
            "corrupt gzip data: the trailer's length is \(e) bytes (mod 2^32) but \(a) were decompressed"
        case .trailingData: "bytes after the end of the gzip data that are not another gzip member"
        case .snappy(let why): "corrupt snappy data: \(why)"
        case .sizeMismatch(let e, let a): "decompressed to \(a) bytes, but \(e) were declared"
        }
    }

    private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}
