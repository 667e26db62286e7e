import Foundation
import Tensor
import Datasets
import MMoE

/// `mmoe-bench checkpoint`: milliseconds to save and to load `model.safetensors` for the Census
/// model (OneFlow's defaults: embedding 4 over the 29 fields at their default table sizes, 11
/// dense, 3 experts [256, 128], 2 tasks) and DeepRec's Taobao model (embedding 16 over 17 fields
/// of DeepRec's bucket sizes, 4 experts and towers [256, 192, 128, 64]). A save is the whole
/// path (encode with the checksum, write, fsync, rename, fsync of the directory); a load reads,
/// verifies the checksum and every shape, and copies into the model. The encode and the read
/// with verification alone are also timed, so the disk's share is visible. Rounds interleave
/// the models, so a noisy neighbour slows them alike.
func benchCheckpoint(arguments: [String]) -> Int32 {
    var rounds = 7, directory: String?
    var i = 0
    func value() -> String? { i += 1; return i < arguments.count ? arguments[i] : nil }
    while i < arguments.count {
        switch arguments[i] {
        case "--rounds":
            guard let v = value(), let n = Int(v), n > 0 else { fail("checkpoint: --rounds needs a positive integer") }
            rounds = n
        case "--dir":
            guard let v = value() else { fail("checkpoint: --dir needs a directory") }
            directory = v
        default: fail("checkpoint: unknown option \(arguments[i])")
        }
        i += 1
    }
    let root = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("mmoe-bench-checkpoint-\(getpid())").path
    defer { if directory == nil { try? FileManager.default.removeItem(atPath: root) } }

    let census = MMoEConfig(denseWidth: CensusIncome.denseNames.count, fieldRows: CensusIncome.defaultTableSizes.map { $0 + 1 },
                            embeddingDim: 4, fieldNames: CensusIncome.sparseNames)
    let deepRec = MMoEConfig.deepRec(fieldRows: Taobao.schema.fieldRows, fieldNames: Taobao.schema.fieldNames)
    struct Subject {
        let name: String, model: MMoEModel, target: MMoEModel, dir: String
        var save: [Double] = [], load: [Double] = [], encode: [Double] = [], verify: [Double] = []
        var bytes = 0
    }
    var subjects: [Subject] = []
    do {
        for (name, config) in [("census", census), ("deeprec", deepRec)] {
            subjects.append(Subject(name: name, model: try MMoEModel(config, seed: 1), target: try MMoEModel(config, seed: 2),
                                    dir: (root as NSString).appendingPathComponent(name)))
        }
    } catch {
        try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: \(error)\n".utf8))
        return 2
    }
    func ms(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }
    do {
        for round in 0...rounds {
            for s in subjects.indices {
                let subject = subjects[s], path = (subject.dir as NSString).appendingPathComponent(ModelCheckpoint.fileName)
                let save = try ms { try ModelCheckpoint.save(subject.model, to: subject.dir, metadata: ["bench": "checkpoint"]) }
                let load = try ms { try ModelCheckpoint.load(into: subject.target, from: subject.dir) }
                let entries = ModelCheckpoint.fileTensors(subject.model).map { SafeTensors.Entry.f32($0.name, $0.tensor) }
                var encoded = Data()
                let encode = ms { encoded = SafeTensors.encode(entries) }
                let verify = try ms { _ = try SafeTensors.read(encoded, file: path) }
                guard round > 0 else { continue }   // round 0 warms the caches and the allocator
                subjects[s].save.append(save)
                subjects[s].load.append(load)
                subjects[s].encode.append(encode)
                subjects[s].verify.append(verify)
                subjects[s].bytes = encoded.count
            }
        }
    } catch {
        try? FileHandle.standardError.write(contentsOf: Data("mmoe-bench: \(error)\n".utf8))
        return 1
    }
    func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
    func f(_ v: Double) -> String { String(format: "%.2f", v) }
    print("mmoe-bench checkpoint: model.safetensors in \(root), \(rounds) rounds after a warm-up, interleaved; ms as median (min)")
    print("model     parameters   file MB   save ms          load ms          encode ms        read+verify ms   read+verify MB/s")
    for s in subjects {
        let mb = Double(s.bytes) / 1e6
        print(s.name.padding(toLength: 10, withPad: " ", startingAt: 0)
              + String(s.model.parameterCount).padding(toLength: 13, withPad: " ", startingAt: 0)
              + f(mb).padding(toLength: 10, withPad: " ", startingAt: 0)
              + [s.save, s.load, s.encode, s.verify].map { "\(f(median($0))) (\(f($0.min()!)))".padding(toLength: 17, withPad: " ", startingAt: 0) }.joined()
              + String(Int(mb / (s.verify.min()! / 1000))))
    }
    return 0
}
