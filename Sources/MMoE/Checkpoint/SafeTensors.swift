import Foundation
import Datasets
import Tensor

/// The safetensors file layout (the format PyTorch, JAX, NumPy and Hugging Face tools read):
///
///     bytes 0..<8      N, the header length, as a little-endian UInt64
///     bytes 8..<8+N    a JSON object: tensor name -> {"dtype", "shape", "data_offsets": [begin, end]},
///                      plus "__metadata__": a string -> string map; padded with spaces so the data
///                      starts at a multiple of 8
///     bytes 8+N...     the tensors' little-endian elements, back to back, row-major; each tensor's
///                      `data_offsets` count from the start of this section
///
/// Dtypes F32, U64 and I64 are written and read here. Files written here carry a checksum, and the
/// header always begins with it, at a fixed place:
///
///     {"__metadata__":{"checksum":"crc32:XXXXXXXX", ...other metadata...}, ...tensors...}
///
/// `XXXXXXXX` (file bytes 43..<51) is 8 lowercase hexadecimal digits: the CRC-32 (zlib's `crc32`,
/// polynomial 0xEDB88320) of the whole file as written with those 8 bytes set to ASCII `0`. It
/// covers the length, every header byte (padding included) and every data byte. In Python:
///
///     raw = open(path, "rb").read()
///     assert raw[8:43] == b'{"__metadata__":{"checksum":"crc32:'
///     assert zlib.crc32(raw[:43] + b"00000000" + raw[51:]) == int(raw[43:51], 16)
public enum SafeTensors {
    /// A file that is not a valid safetensors file of this format, with what is wrong.
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The element types this code reads and writes, by their safetensors codes.
    public enum DType: String, Sendable {
        case f32 = "F32", u64 = "U64", i64 = "I64"
        /// Bytes per element.
        public var size: Int { self == .f32 ? 4 : 8 }
    }

    /// One tensor to write: its name, shape, dtype and elements.
    public struct Entry {
        /// The tensor's name in the header.
        public let name: String
        /// The tensor's shape.
        public let shape: [Int]
        /// The element type.
        public let dtype: DType
        fileprivate let payload: Payload

        fileprivate enum Payload {
            case tensor(Tensor), floats([Float]), u64([UInt64]), i64([Int64])
        }

        private init(_ name: String, _ shape: [Int], _ dtype: DType, _ payload: Payload, count: Int) {
            precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == count,
                         "SafeTensors.Entry \(name): \(count) values for shape \(shape)")
            self.name = name
            self.shape = shape
            self.dtype = dtype
            self.payload = payload
        }

        /// `tensor`'s elements (any layout; written row-major) as F32. The tensor is read when the
        /// file is encoded, not now.
        public static func f32(_ name: String, _ tensor: Tensor) -> Entry {
            Entry(name, tensor.shape, .f32, .tensor(tensor), count: tensor.count)
        }

        /// An F32 tensor from an array, row-major.
        public static func f32(_ name: String, shape: [Int], _ values: [Float]) -> Entry {
            Entry(name, shape, .f32, .floats(values), count: values.count)
        }

        /// A U64 tensor from an array, row-major.
        public static func u64(_ name: String, shape: [Int], _ values: [UInt64]) -> Entry {
            Entry(name, shape, .u64, .u64(values), count: values.count)
        }

        /// An I64 tensor from an array, row-major.
        public static func i64(_ name: String, shape: [Int], _ values: [Int64]) -> Entry {
            Entry(name, shape, .i64, .i64(values), count: values.count)
        }

        var byteCount: Int { shape.reduce(1, *) * dtype.size }
    }

    /// Where a stored tensor is: its dtype, shape and byte range in the data section.
    public struct TensorInfo: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        /// The tensor's bytes, as offsets into the data section (after the header).
        public let dataOffsets: Range<Int>
    }

    /// The header's first bytes in every file written here; the checksum digits follow.
    static let checksumPrefix = Array(#"{"__metadata__":{"checksum":"crc32:"#.utf8)
    /// File bytes of the checksum's 8 hexadecimal digits.
    static let checksumDigits = (8 + checksumPrefix.count)..<(8 + checksumPrefix.count + 8)

    // MARK: - Writing

    /// The file's bytes: `entries` in the order given, `metadata` (keys sorted) after the checksum.
    /// `metadata` must not hold `checksum`, and names must be distinct (programming errors).
    public static func encode(_ entries: [Entry], metadata: [String: String] = [:]) -> Data {
        precondition(metadata["checksum"] == nil, "SafeTensors.encode: the checksum metadata is written by the encoder")
        precondition(Set(entries.map(\.name)).count == entries.count, "SafeTensors.encode: duplicate tensor names")
        precondition(!entries.contains { $0.name == "__metadata__" }, "SafeTensors.encode: __metadata__ is not a tensor name")
        var header = String(decoding: checksumPrefix, as: UTF8.self) + "00000000\""
        for key in metadata.keys.sorted() { header += ",\(JSONText.quoted(key)):\(JSONText.quoted(metadata[key]!))" }
        header += "}"
        var offset = 0
        for e in entries {
            let shape = e.shape.map(String.init).joined(separator: ",")
            header += ",\(JSONText.quoted(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + e.byteCount)]}"
            offset += e.byteCount
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        // Spaces up to a multiple of 8, so the data section starts aligned.
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        let dataStart = 8 + headerBytes.count
        var out = Data(count: dataStart + offset)
        Kernels.copyBytes(of: [UInt64(headerBytes.count)], into: &out, at: 0)
        Kernels.copyBytes(of: headerBytes, into: &out, at: 8)
        offset = dataStart
        for e in entries {
            switch e.payload {
            case .tensor(let t): Kernels.copyBytes(of: t, into: &out, at: offset)
            case .floats(let v): Kernels.copyBytes(of: v, into: &out, at: offset)
            case .u64(let v): Kernels.copyBytes(of: v, into: &out, at: offset)
            case .i64(let v): Kernels.copyBytes(of: v, into: &out, at: offset)
            }
            offset += e.byteCount
        }
        out.replaceSubrange(checksumDigits, with: Array(hex8(Kernels.crc32(out)).utf8))
        return out
    }

    /// `encode` for F32 tensors given as arrays (the original API).
    public static func encode(_ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String] = [:]) -> Data {
        encode(tensors.map { Entry.f32($0.name, shape: $0.shape, $0.values) }, metadata: metadata)
    }

    static func hex8(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    // MARK: - Reading

    /// A parsed, verified file: the metadata and where each tensor is. The elements are copied out
    /// on request, typed.
    public struct File {
        /// The path given to `read`, for messages.
        public let path: String
        /// The header's `__metadata__` map (checksum, format, dataset, step, ...).
        public let metadata: [String: String]
        /// Where each tensor is, by name.
        public let tensors: [String: TensorInfo]
        /// Tensor names in data order.
        public let names: [String]
        let bytes: Data
        let dataStart: Int

        func fail(_ why: String) -> FormatError { FormatError(description: "\(path): \(why)") }

        /// The byte range in `bytes` of tensor `name`, which must have dtype `dtype`.
        func range(_ name: String, _ dtype: DType) throws(FormatError) -> Range<Int> {
            guard let info = tensors[name] else { throw fail("tensor \(name) is missing") }
            guard info.dtype == dtype else { throw fail("tensor \(name) has dtype \(info.dtype.rawValue), expected \(dtype.rawValue)") }
            return (dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)
        }

        /// The elements of the F32 tensor `name`, row-major; an error if it is missing or of another dtype.
        public func floats(_ name: String) throws(FormatError) -> [Float] {
            Kernels.array(of: Float.self, from: bytes, try range(name, .f32))
        }

        /// The elements of the U64 tensor `name`, row-major; an error if it is missing or of another dtype.
        public func uint64s(_ name: String) throws(FormatError) -> [UInt64] {
            Kernels.array(of: UInt64.self, from: bytes, try range(name, .u64))
        }

        /// The elements of the I64 tensor `name`, row-major; an error if it is missing or of another dtype.
        public func int64s(_ name: String) throws(FormatError) -> [Int64] {
            Kernels.array(of: Int64.self, from: bytes, try range(name, .i64))
        }

        /// Tensor `name` (F32) as a new contiguous tensor of its stored shape.
        public func tensor(_ name: String) throws(FormatError) -> Tensor {
            let r = try range(name, .f32)
            let t = Tensor(uninitializedShape: tensors[name]!.shape)
            Kernels.copyBytes(from: bytes, r, into: t)
            return t
        }

        /// Checks that tensor `name` is F32 with `target`'s shape; the message names the tensor
        /// and both shapes.
        public func check(_ name: String, fits target: Tensor) throws(FormatError) {
            _ = try range(name, .f32)
            let stored = tensors[name]!.shape
            guard stored == target.shape else {
                throw fail("tensor \(name) has shape \(stored) in the checkpoint but \(target.shape) in this model")
            }
        }

        /// Writes tensor `name` into the contiguous view `target` (after `check`).
        public func copy(_ name: String, into target: Tensor) throws(FormatError) {
            try check(name, fits: target)
            Kernels.copyBytes(from: bytes, try range(name, .f32), into: target)
        }
    }

    /// Reads and verifies the file at `path`: see `read(_:file:requireChecksum:)`.
    public static func read(path: String, requireChecksum: Bool = true) throws(FormatError) -> File {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw FormatError(description: "\(path): cannot be read (\(error.localizedDescription))")
        }
        return try read(data, file: path, requireChecksum: requireChecksum)
    }

    /// Parses `data` (the bytes of `file`, named in every message) and checks all of it before
    /// returning: the header is a JSON object, every tensor has a known dtype, a shape and
    /// offsets that agree, the tensors tile the data section exactly to the end of the file, and
    /// the checksum matches. Without `requireChecksum`, a file without one (written by another
    /// tool) is accepted; a checksum that is present is always verified.
    public static func read(_ data: Data, file: String, requireChecksum: Bool = true) throws(FormatError) -> File {
        func fail(_ why: String) -> FormatError { FormatError(description: "\(file): \(why)") }
        let bytes = data.startIndex == 0 ? data : Data(data)
        let size = bytes.count
        guard size >= 8 else { throw fail("\(size) bytes, too short for a safetensors file (truncated, or not a checkpoint)") }
        let headerLength = Kernels.array(of: UInt64.self, from: bytes, 0..<8)[0]
        guard headerLength >= 2, headerLength <= UInt64(size - 8) else {
            throw fail("the first 8 bytes give a header of \(headerLength) bytes, but \(size - 8) follow (truncated, or not a safetensors file)")
        }
        let dataStart = 8 + Int(headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<dataStart)), let header = object as? [String: Any] else {
            throw fail("the header is not a JSON object (corrupted, or not a safetensors file)")
        }
        var metadata: [String: String] = [:]
        var tensors: [String: TensorInfo] = [:]
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let m = entry as? [String: String] else { throw fail("__metadata__ is not a map of strings to strings") }
                metadata = m
                continue
            }
            guard let e = entry as? [String: Any], let dtypeName = e["dtype"] as? String, let shape = e["shape"] as? [Int],
                  let offsets = e["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("tensor \(name) has no dtype, shape or data_offsets pair")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor \(name) has dtype \(dtypeName); only F32, U64 and I64 are read")
            }
            var bytesNeeded = dtype.size, overflow = false
            for d in shape where !overflow {
                guard d >= 0 else { throw fail("tensor \(name) has a negative dimension in shape \(shape)") }
                (bytesNeeded, overflow) = bytesNeeded.multipliedReportingOverflow(by: d)
            }
            guard !overflow, offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] - offsets[0] == bytesNeeded else {
                throw fail("tensor \(name): shape \(shape) of \(dtypeName) does not fit data_offsets \(offsets)")
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, dataOffsets: offsets[0]..<offsets[1])
        }
        // The tensors must tile the data section: no gap, no overlap, nothing after the last.
        let names = tensors.keys.sorted { (tensors[$0]!.dataOffsets.lowerBound, $0) < (tensors[$1]!.dataOffsets.lowerBound, $1) }
        var end = 0
        for name in names {
            let r = tensors[name]!.dataOffsets
            guard r.lowerBound == end else { throw fail("tensor \(name) starts at data byte \(r.lowerBound), expected \(end) (overlapping or missing data)") }
            // Compared against what the file holds before any addition, so absurd offsets cannot overflow.
            guard r.upperBound <= size - dataStart else {
                throw fail("tensor \(name) ends at data byte \(r.upperBound) but the file has \(size - dataStart) data bytes (truncated)")
            }
            end = r.upperBound
        }
        guard dataStart + end == size else {
            throw fail("the tensors end at byte \(dataStart + end) but the file has \(size) bytes (\(dataStart + end > size ? "truncated" : "trailing bytes"))")
        }
        if let stated = metadata["checksum"] {
            guard bytes.count >= checksumDigits.upperBound, Array(bytes[8..<checksumDigits.lowerBound]) == checksumPrefix else {
                throw fail("the checksum is not at the start of the header, where it is written (the file was changed after it was written)")
            }
            // The CRC of the file with the digits read as "00000000", in three runs (no copy).
            var crc = Kernels.crc32(bytes, 0..<checksumDigits.lowerBound)
            crc = Kernels.crc32(Data("00000000".utf8), continuing: crc)
            crc = Kernels.crc32(bytes, checksumDigits.upperBound..<size, continuing: crc)
            let actual = "crc32:" + hex8(crc)
            guard stated == actual else { throw fail("checksum mismatch: the header says \(stated), the bytes give \(actual) (the file is corrupted)") }
        } else if requireChecksum {
            throw fail("no checksum in __metadata__ (this file was not written by mmoe-swift, or was changed by another tool)")
        }
        return File(path: file, metadata: metadata, tensors: tensors, names: names, bytes: bytes, dataStart: dataStart)
    }

    /// Name -> (shape, values) of every tensor in `data` (F32 only), and the metadata: the
    /// original API. A checksum, when present, is verified.
    public static func decode(_ data: Data, file: String) throws(FormatError) -> (tensors: [String: (shape: [Int], values: [Float])], metadata: [String: String]) {
        let f = try read(data, file: file, requireChecksum: false)
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for name in f.names { tensors[name] = (f.tensors[name]!.shape, try f.floats(name)) }
        return (tensors, f.metadata)
    }
}
