// swift-tools-version:6.1
import PackageDescription
import Foundation

/// The CPU the numeric code is compiled for. Release and debug builds both target the machine that
/// builds them (like `-march=native`), because the GEMM micro-kernel is written for 512-bit SIMD and
/// falls back to much slower code on the generic x86-64 baseline. `MMOE_TARGET_CPU=<llvm cpu>` (or
/// `generic` for none) overrides the detection, e.g. to build for another machine.
func targetCPU() -> String? {
    if let forced = ProcessInfo.processInfo.environment["MMOE_TARGET_CPU"], !forced.isEmpty {
        return forced == "generic" ? nil : forced
    }
    #if arch(x86_64)
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
    let flagsLine = info.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    let amd = info.contains("AuthenticAMD")
    if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) {
        return amd ? "znver4" : "skylake-avx512"
    }
    if ["avx2", "fma", "f16c"].allSatisfy(flags.contains) { return amd ? "znver2" : "haswell" }
    return nil
    #else
    return nil
    #endif
}

/// An AVX2 target without AVX-512 also gets `MMOE_AVX2`: the GEMM micro-kernel then works in
/// 8-lane strips that fit AVX2's 16 registers (GEMM+Kernel.swift).
let numericFlags: [SwiftSetting] = targetCPU().map { cpu in
    [.unsafeFlags(["-target-cpu", cpu])] + (cpu == "znver2" || cpu == "haswell" ? [.define("MMOE_AVX2")] : [])
} ?? []

let package = Package(
    name: "mmoe-swift",
    products: [
        .executable(name: "mmoe-train", targets: ["mmoe-train"]),
        .executable(name: "mmoe-bench", targets: ["mmoe-bench"]),
        .executable(name: "mmoe-predict", targets: ["mmoe-predict"]),
        .executable(name: "mmoe-report", targets: ["mmoe-report"]),
        .executable(name: "mmoe-export", targets: ["mmoe-export"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "MMoE", targets: ["MMoE"]),
        .library(name: "Datasets", targets: ["Datasets"]),
    ],
    // `swift build --traits MPI`: multi-process training on Open MPI (see Distributed.md). The
    // default build has no dependency on it.
    traits: [
        .trait(name: "MPI", description: "Data-parallel training across processes on MPI (needs Open MPI: pkg-config ompi-c)"),
    ],
    targets: [
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "Tensor", swiftSettings: numericFlags),
        .target(name: "Datasets", dependencies: ["Tensor"], swiftSettings: numericFlags),
        .target(name: "MMoE", dependencies: ["Tensor", "Datasets", .target(name: "CMPI", condition: .when(traits: ["MPI"]))],
                swiftSettings: numericFlags),
        .executableTarget(name: "mmoe-train", dependencies: ["MMoE", "Datasets", "Tensor"], swiftSettings: numericFlags),
        .executableTarget(name: "mmoe-bench", dependencies: ["MMoE", "Datasets", "Tensor"], swiftSettings: numericFlags),
        .executableTarget(name: "mmoe-predict", dependencies: ["MMoE", "Datasets"], swiftSettings: numericFlags),
        .executableTarget(name: "mmoe-report", dependencies: ["MMoE"]),
        .executableTarget(name: "mmoe-export", dependencies: ["MMoE"]),
        .target(name: "TestSupport", dependencies: ["Tensor"], path: "Tests/TestSupport", swiftSettings: numericFlags),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"], swiftSettings: numericFlags),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tensor", "TestSupport"], swiftSettings: numericFlags),
        .testTarget(name: "MMoETests", dependencies: ["MMoE", "Datasets", "Tensor", "TestSupport"], swiftSettings: numericFlags),
    ]
)
