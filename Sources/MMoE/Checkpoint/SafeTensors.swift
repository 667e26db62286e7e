import Foundation
import Tensor

/// The safetensors file layout (the format PyTorch, JAX and Hugging Face tools read): an 8-byte
/// little-endian header length, a JSON header mapping each tensor name to its dtype, shape and
/// byte range, then the raw little-endian data. Only F32 is written or read here.
public enum SafeTensors {
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The file's bytes for `tensors` (name, shape, values), in the order given.
    public static func encode(_ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String] = [:]) -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            precondition(t.shape.reduce(1, *) == t.values.count, "SafeTensors.encode: \(t.name) has \(t.values.count) values for shape \(t.shape)")
            let bytes = t.values.count * 4
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces to a multiple of 8 so the data starts aligned.
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        let length = UInt64(json.count)
        out.append(contentsOf: (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) })
        out.append(json)
        var bytes = [UInt8](repeating: 0, count: offset)
        var i = 0
        for t in tensors {
            for v in t.values {
                let bits = v.bitPattern
                for b in 0..<4 { bytes[i + b] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(b))) }
                i += 4
            }
        }
        out.append(contentsOf: bytes)
        return out
    }

    /// Name -> (shape, values) of every tensor in `data`, and the metadata.
    public static func decode(_ data: Data, file: String) throws(FormatError) -> (tensors: [String: (shape: [Int], values: [Float])], metadata: [String: String]) {
        func fail(_ why: String) -> FormatError { FormatError(description: "\(file): not a readable safetensors file: \(why)") }
        guard data.count >= 8 else { throw fail("\(data.count) bytes, shorter than the 8-byte header length") }
        let bytes = [UInt8](data)
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8) else { throw fail("header length \(headerLength) exceeds the file (\(bytes.count) bytes)") }
        let dataStart = 8 + Int(headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])), let header = object as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        var metadata: [String: String] = [:]
        for (name, entry) in header {
            if name == "__metadata__" {
                metadata = entry as? [String: String] ?? [:]
                continue
            }
            guard let e = entry as? [String: Any], let dtype = e["dtype"] as? String, let shape = e["shape"] as? [Int],
                  let range = e["data_offsets"] as? [Int], range.count == 2 else { throw fail("tensor \(name) has no dtype, shape or data_offsets") }
            guard dtype == "F32" else { throw fail("tensor \(name) has dtype \(dtype); only F32 is supported") }
            let count = shape.reduce(1, *)
            guard shape.allSatisfy({ $0 >= 0 }), range[0] >= 0, range[1] - range[0] == count * 4, dataStart + range[1] <= bytes.count else {
                throw fail("tensor \(name): shape \(shape) does not match bytes \(range) of \(bytes.count - dataStart)")
            }
            var values = [Float](repeating: 0, count: count)
            let base = dataStart + range[0]
            for i in 0..<count {
                var bits: UInt32 = 0
                for b in 0..<4 { bits |= UInt32(bytes[base + 4 * i + b]) << (8 * UInt32(b)) }
                values[i] = Float(bitPattern: bits)
            }
            tensors[name] = (shape, values)
        }
        return (tensors, metadata)
    }
}
