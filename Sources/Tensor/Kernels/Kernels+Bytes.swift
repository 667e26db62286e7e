import Foundation

/// Bulk copies between element buffers and the little-endian byte layout of files (checkpoints).
/// The copies are plain memory copies, so they hold only on a little-endian host; every supported
/// target (x86-64, arm64) is one, and `requireLittleEndian` stops anything else with a clear
/// message instead of writing byte-swapped files.
///
/// Byte ranges are counted from `data.startIndex`.
extension Kernels {
    /// True on the hosts this project supports.
    public static let hostIsLittleEndian = 1.littleEndian == 1

    static func requireLittleEndian() {
        precondition(hostIsLittleEndian, "checkpoint files are little-endian; this big-endian host would need byte swapping, which is not implemented")
    }

    /// Copies the elements of `tensor` (any layout; copied through `contiguous()`), as
    /// little-endian bytes, into `data` from byte `offset` on.
    public static func copyBytes(of tensor: Tensor, into data: inout Data, at offset: Int) {
        requireLittleEndian()
        let t = tensor.contiguous(), bytes = t.count * MemoryLayout<Float>.size
        precondition(offset >= 0 && offset + bytes <= data.count, "copyBytes: \(bytes) bytes at \(offset) exceed \(data.count)")
        guard bytes > 0 else { return }
        data.withUnsafeMutableBytes { out in
            UnsafeMutableRawPointer(out.baseAddress! + offset).copyMemory(from: t.storage.base + t.offset, byteCount: bytes)
        }
    }

    /// Writes bytes `range` of `data` (little-endian Floats, `tensor.count` of them) into the
    /// contiguous view `tensor`.
    public static func copyBytes(from data: Data, _ range: Range<Int>, into tensor: Tensor) {
        requireLittleEndian()
        precondition(tensor.isContiguous, "copyBytes: the target \(tensor.shape) is not contiguous")
        precondition(range.count == tensor.count * MemoryLayout<Float>.size && range.lowerBound >= 0 && range.upperBound <= data.count,
                     "copyBytes: bytes \(range) of \(data.count) do not fit a \(tensor.shape) tensor")
        guard !range.isEmpty else { return }
        data.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(tensor.storage.base + tensor.offset).copyMemory(from: raw.baseAddress! + range.lowerBound, byteCount: range.count)
        }
    }

    /// Copies `values` as little-endian bytes into `data` from byte `offset` on.
    public static func copyBytes<T: BitwiseCopyable>(of values: [T], into data: inout Data, at offset: Int) {
        requireLittleEndian()
        let bytes = values.count * MemoryLayout<T>.size
        precondition(offset >= 0 && offset + bytes <= data.count, "copyBytes: \(bytes) bytes at \(offset) exceed \(data.count)")
        guard bytes > 0 else { return }
        values.withUnsafeBytes { source in
            data.withUnsafeMutableBytes { out in (out.baseAddress! + offset).copyMemory(from: source.baseAddress!, byteCount: bytes) }
        }
    }

    /// The little-endian elements in bytes `range` of `data` (a whole number of elements).
    public static func array<T: BitwiseCopyable>(of type: T.Type, from data: Data, _ range: Range<Int>) -> [T] {
        requireLittleEndian()
        let size = MemoryLayout<T>.size
        precondition(range.count % size == 0 && range.lowerBound >= 0 && range.upperBound <= data.count,
                     "array(of:): bytes \(range) of \(data.count) are not whole \(T.self) elements")
        let n = range.count / size
        return [T](unsafeUninitializedCapacity: n) { buffer, count in
            if n > 0 {
                data.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: raw.baseAddress! + range.lowerBound, byteCount: range.count)
                }
            }
            count = n
        }
    }
}
