#if canImport(Glibc)
import Glibc
#endif

extension ProcessMemory {
    /// Tells glibc's allocator to keep freed memory for the next allocation instead of handing it
    /// back to the kernel. A training step allocates and frees the same few megabytes of arrays
    /// (activations, gradients, a distributed step's send and receive buffers) every step; with
    /// glibc's defaults the top of the heap is trimmed (`brk`) or a large block unmapped after
    /// each step, and the next step faults the same pages in again, zeroed by the kernel. Measured
    /// with `mpirun -np 2` on DeepRec's Taobao model, a quarter of each rank's time went to those
    /// page faults (18,300-19,400 against 24,900-25,500 samples/s with trimming off).
    ///
    /// Blocks below 32 MiB (glibc's largest `mmap` threshold) then come from the heap, and the
    /// heap is never trimmed: the resident size stays at the run's high-water mark, plus what
    /// fragmentation keeps from being reused (a 760 MB CSV streamed at a peak RSS of 155 MB
    /// against 143 MB before; Census and Taobao in memory unchanged). Larger blocks are still
    /// mapped and unmapped.
    /// Returns whether the allocator took the settings (false off glibc, where nothing changes).
    @discardableResult
    public static func keepFreedHeap() -> Bool {
        #if canImport(Glibc)
        // `mallopt` is declared in <malloc.h>, which the Glibc module does not export: looked up
        // by name, with its option numbers from that header.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        return mallopt(trimThreshold, Int32.max) == 1 && mallopt(mmapThreshold, 32 << 20) == 1
        #else
        return false
        #endif
    }
}
