/// Square roots of 16 non-negative lanes, to within 2.5e-7 relative error (0 gives 0).
///
/// NOTE: why not `squareRoot()`? On Linux, Swift's Float square root goes through a C shim built
/// with errno semantics: a `vsqrtss`, then a call to `sqrtf` on the NaN path. That keeps every
/// loop that uses it scalar; Adam's update, which needs one per parameter, ran 5x slower. Here:
/// the classic bit-level estimate of 1/sqrt(x), three Newton steps (each squares the relative
/// error: 2e-3, 5e-6, then float rounding), and sqrt(x) = x · (1/sqrt(x)). Branch-free, so it
/// compiles to straight 512-bit arithmetic.
@inline(__always) public func sqrt16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    var y = unsafeBitCast(SIMD16<UInt32>(repeating: 0x5F37_59DF) &- (bits &>> 1), to: SIMD16<Float>.self)
    let half = 0.5 * x
    y = y * (1.5 - half * y * y)
    y = y * (1.5 - half * y * y)
    y = y * (1.5 - half * y * y)
    return x * y
}
