/// The PLAIN encoding of Parquet's `Encodings.md` ("Plain: (PLAIN = 0)"): BOOLEAN bit-packed one
/// bit per value, LSB first; INT32 and FLOAT 4 little-endian bytes; INT64 and DOUBLE 8; BYTE_ARRAY
/// a 4-byte little-endian length then the bytes. Dictionary pages use it for their values.
enum PlainDecoder {
    static func decode(_ cursor: inout ByteCursor, count: Int, type: ParquetPhysicalType) throws(ParquetFormatError) -> ParquetValues {
        func fixed(_ width: Int) throws(ParquetFormatError) -> ArraySlice<UInt8> {
            guard count <= cursor.remaining / width else {
                throw cursor.failure("\(count) \(type) values need \(count * width) bytes, \(cursor.remaining) left")
            }
            return try cursor.take(count * width)
        }
        switch type {
        case .boolean:
            guard count <= cursor.remaining * 8 else { throw cursor.failure("\(count) booleans need \((count + 7) / 8) bytes, \(cursor.remaining) left") }
            var out = [Bool]()
            out.reserveCapacity(count)
            try cursor.unpack(count, width: 1) { out.append($0 != 0) }
            return .boolean(out)
        case .int32:
            let b = try fixed(4)
            return .int32((0 ..< count).map { i in Int32(bitPattern: load32(b, b.startIndex + 4 * i)) })
        case .float:
            let b = try fixed(4)
            return .float((0 ..< count).map { i in Float(bitPattern: load32(b, b.startIndex + 4 * i)) })
        case .int64:
            let b = try fixed(8)
            return .int64((0 ..< count).map { i in Int64(bitPattern: load64(b, b.startIndex + 8 * i)) })
        case .double:
            let b = try fixed(8)
            return .double((0 ..< count).map { i in Double(bitPattern: load64(b, b.startIndex + 8 * i)) })
        case .byteArray:
            var out = ParquetByteArrays()
            for _ in 0 ..< count {
                let n = Int(try cursor.littleEndian(4))
                out.append(try cursor.take(n))
            }
            return .byteArray(out)
        case .int96, .fixedLenByteArray:
            throw ParquetFormatError("physical type \(type) is not supported")
        }
    }

    @inline(__always)
    static func load32(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    @inline(__always)
    static func load64(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt64 {
        UInt64(load32(b, i)) | UInt64(load32(b, i + 4)) << 32
    }
}
