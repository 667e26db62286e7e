// bfloat16 input rounding for the GEMM. With `roundToBFloat16` both operands are rounded to the
// nearest bfloat16 (8-bit exponent, 7-bit mantissa) as they are packed, and the product is still
// accumulated in Float by the unchanged micro-kernel: the numerics of a bf16 x bf16 -> f32 matmul
// (AMX / AVX512_BF16 / TPU style), emulated. Rounded values are stored as Floats whose low 16 bits
// are zero, so this saves no memory and no time on a CPU whose fast path is Float FMA; it exists to
// reproduce bf16 training numerics.

/// `x` rounded to the nearest bfloat16, ties to even, returned as a Float (low 16 bits zero).
/// Add 0x7FFF plus the lowest kept bit, then truncate: a carry out of the mantissa bumps the
/// exponent, so Float.greatestFiniteMagnitude rounds to +inf, as in IEEE round-to-nearest-even.
/// NaN stays NaN (quietened, sign kept): the carry could otherwise turn a payload into inf.
@inline(__always) public func roundToBFloat16(_ x: Float) -> Float {
    let bits = x.bitPattern
    if bits & 0x7FFF_FFFF > 0x7F80_0000 { return Float(bitPattern: (bits | 0x0040_0000) & 0xFFFF_0000) }
    let lsb = (bits >> 16) & 1
    return Float(bitPattern: (bits &+ 0x7FFF &+ lsb) & 0xFFFF_0000)
}

/// `roundToBFloat16` on 16 lanes, branch-free. NOTE: the NaN test is a Float compare (x != x)
/// and the blend a Float `replacing`: an unsigned integer compare (`bits & 0x7FFFFFFF .> 0x7F800000`)
/// was lowered lane by lane through the stack. Check `objdump -d` (vpsrld/vpaddd/vpandd, vcmpps
/// into a mask register, one masked move; no scalar loop) after touching this.
@inline(__always) func roundToBFloat16(_ v: SIMD16<Float>) -> SIMD16<Float> {
    let bits = unsafeBitCast(v, to: SIMD16<UInt32>.self)
    let rounded = (bits &+ (0x7FFF &+ ((bits &>> 16) & 1))) & 0xFFFF_0000
    let quietNaN = (bits | 0x0040_0000) & 0xFFFF_0000
    return unsafeBitCast(rounded, to: SIMD16<Float>.self)
        .replacing(with: unsafeBitCast(quietNaN, to: SIMD16<Float>.self), where: v .!= v)
}

/// How a value is stored into a packed panel: copied as is, or rounded to bfloat16. A type, not a
/// Bool, so the packing loops are specialised for each and the plain copy carries no rounding code.
protocol PackConversion {
    /// `apply` returns its argument unchanged.
    static var isCopy: Bool { get }
    static func apply(_ v: SIMD16<Float>) -> SIMD16<Float>
    static func apply(_ x: Float) -> Float
}

#if MMOE_AVX2
extension PackConversion {
    /// `apply` on 8 lanes (AVX2's transpose blocks), through the low half of a 16-lane vector.
    @inline(__always) static func apply(_ v: SIMD8<Float>) -> SIMD8<Float> {
        isCopy ? v : apply(SIMD16(lowHalf: v, highHalf: SIMD8())).lowHalf
    }
}
#endif

enum PackCopy: PackConversion {
    static var isCopy: Bool { true }
    @inline(__always) static func apply(_ v: SIMD16<Float>) -> SIMD16<Float> { v }
    @inline(__always) static func apply(_ x: Float) -> Float { x }
}

enum PackRoundBFloat16: PackConversion {
    static var isCopy: Bool { false }
    @inline(__always) static func apply(_ v: SIMD16<Float>) -> SIMD16<Float> { roundToBFloat16(v) }
    @inline(__always) static func apply(_ x: Float) -> Float { roundToBFloat16(x) }
}

/// Copies `lines` runs of `length` floats (`src` runs `ld` apart) into `dst` (runs `length` apart),
/// rounding each value to bfloat16. The small-n path reads A in place instead of packing it, so
/// with rounding it reads this copy.
func copyRoundedToBFloat16(_ src: UnsafePointer<Float>, ld: Int, lines: Int, length: Int,
                           into dst: UnsafeMutablePointer<Float>) {
    for l in 0..<lines {
        let s = src + l &* ld, d = dst + l &* length
        var i = 0
        while i &+ 16 <= length { store16(roundToBFloat16(load16(s + i)), d + i); i &+= 16 }
        while i < length { d[i] = roundToBFloat16(s[i]); i &+= 1 }
    }
}
