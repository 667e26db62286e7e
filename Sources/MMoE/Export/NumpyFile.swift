import Foundation
import Tensor

/// Writing arrays as NumPy `.npy` files (format version 1.0), which `numpy.load` reads directly.
///
/// Layout (<https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>): the magic
/// `\x93NUMPY`, the version bytes `1 0`, the header length as a little-endian `uint16`, then the
/// header, an ASCII Python dict literal such as `{'descr': '<i8', 'fortran_order': False, 'shape': (4, 15), }`
/// padded with spaces and ended by `\n` so that the data starts at a multiple of 64 bytes; then
/// the elements in C (row-major) order, little-endian: `<i8` for int64, `<f4` for float32.
public enum NumpyFile {
    /// The bytes of an `.npy` file holding `values` (`shape.reduce(1, *)` of them) as `<i8`.
    public static func encode(_ values: [Int64], shape: [Int]) -> Data { encode(values, descr: "<i8", shape: shape) }

    /// The bytes of an `.npy` file holding `values` as `<f4`.
    public static func encode(_ values: [Float], shape: [Int]) -> Data { encode(values, descr: "<f4", shape: shape) }

    static func encode<T: BitwiseCopyable>(_ values: [T], descr: String, shape: [Int]) -> Data {
        precondition(values.count == shape.reduce(1, *), "NumpyFile: \(values.count) values for shape \(shape)")
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        let start = data.count
        data.append(Data(count: values.count * MemoryLayout<T>.size))
        Kernels.copyBytes(of: values, into: &data, at: start)
        return data
    }
}
