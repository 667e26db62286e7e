import Foundation
import Datasets

/// The ranks of a distributed run sharing a streamed training input (`--rank_input share`): each
/// parses its own pieces (`SliceLoader`), and `exchange` all-gathers one parsed piece from every
/// rank, so every rank holds the same pieces in the same order and cuts the same batches as one
/// process would. A piece travels as its rows already parsed and hashed (`[Float]` carrying the
/// dense values, the ids, bag offsets and keys bit for bit, and the labels).
struct InputShare {
    let communicator: any Communicator
    var rank: Int { communicator.rank }
    var size: Int { communicator.size }

    init(_ communicator: any Communicator) {
        self.communicator = communicator
    }

    /// One round: every rank's piece (or its failure to read it), in rank order. A failure on any
    /// rank is thrown on every rank (the first failing rank's, as that rank threw it: a
    /// `DatasetError` keeps its file, line and field), so no rank is left waiting for the others.
    func exchange(_ mine: Result<[TabularData], Error>) throws -> [[TabularData]] {
        let payload: [Float]
        switch mine {
        case .success(let chunks): payload = [0] + Self.encode(TabularData.concatenating(chunks))
        case .failure(let error): payload = [1] + Self.encode(error)
        }
        let all = communicator.allGather(payload)
        if let q = all.firstIndex(where: { $0.first != 0 }) {
            if q == rank, case .failure(let error) = mine { throw error }
            throw Self.decodeError(all[q].dropFirst(), rank: q)
        }
        return try all.map { parts in try Self.decode(parts.dropFirst()).map { [$0] } ?? [] }
    }

    // MARK: the payload

    static func word(_ v: Int) -> Float { Float(bitPattern: UInt32(truncatingIfNeeded: v)) }
    static func int(_ f: Float) -> Int { Int(f.bitPattern) }

    /// A piece's rows (nil: an empty piece) as floats: the layout, the task names, then the arrays.
    static func encode(_ data: TabularData?) -> [Float] {
        guard let d = data, d.count > 0 else { return [word(0)] }
        let names = text(d.taskNames.joined(separator: "\u{0}"))
        var out: [Float] = [word(d.count), word(d.denseWidth), word(d.fieldCount), word(d.ids.count),
                            word(d.bagOffsets == nil ? 0 : 1), word(d.keys == nil ? 0 : 1), word(names.count)]
        out.reserveCapacity(out.count + names.count + d.dense.count + d.ids.count * 3 + d.labels.count + (d.bagOffsets?.count ?? 0))
        out += names
        out += d.dense
        out += d.ids.map { Float(bitPattern: UInt32(bitPattern: $0)) }
        if let offsets = d.bagOffsets { out += offsets.map { Float(bitPattern: UInt32(bitPattern: $0)) } }
        if let keys = d.keys {
            for k in keys { out += [Float(bitPattern: UInt32(truncatingIfNeeded: k)), Float(bitPattern: UInt32(truncatingIfNeeded: k >> 32))] }
        }
        out += d.labels
        return out
    }

    /// The rows `encode` wrote (nil for an empty piece).
    static func decode(_ p: ArraySlice<Float>) throws -> TabularData? {
        var k = p.startIndex
        func take(_ n: Int) throws -> ArraySlice<Float> {
            guard n >= 0, k + n <= p.endIndex else { throw TrainingError(description: "a rank sent a malformed piece of the training input") }
            defer { k += n }
            return p[k..<(k + n)]
        }
        let count = int(try take(1).first!)
        guard count > 0 else { return nil }
        let h = try take(6).map(int)
        let (width, fields, idCount, bags, keyed, nameCount) = (h[0], h[1], h[2], h[3] == 1, h[4] == 1, h[5])
        let names = string(try take(nameCount)).components(separatedBy: "\u{0}")
        let dense = Array(try take(count * width))
        let ids = try take(idCount).map { Int32(bitPattern: $0.bitPattern) }
        let offsets = bags ? try take(count * fields + 1).map { Int32(bitPattern: $0.bitPattern) } : nil
        var keys: [UInt64]? = nil
        if keyed {
            let words = try take(2 * idCount)
            keys = stride(from: words.startIndex, to: words.endIndex, by: 2).map {
                UInt64(words[$0].bitPattern) | UInt64(words[$0 + 1].bitPattern) << 32
            }
        }
        let labels = Array(try take(count * names.count))
        return TabularData(count: count, denseWidth: width, dense: dense, fieldCount: fields, ids: ids, taskNames: names,
                           labels: labels, bagOffsets: offsets, keys: keys)
    }

    /// An error as floats: a `DatasetError`'s parts (kind 1), or any other error's text (kind 0).
    static func encode(_ error: Error) -> [Float] {
        guard let e = error as? DatasetError else { return [word(0)] + text("\(error)") }
        return [word(1), word(e.line ?? -1), word(e.field == nil ? 0 : 1)] + text([e.file, e.field ?? "", e.message].joined(separator: "\u{0}"))
    }

    /// The error rank `rank` sent.
    static func decodeError(_ p: ArraySlice<Float>, rank: Int) -> Error {
        guard let kind = p.first.map(int) else { return TrainingError(description: "rank \(rank) could not read its share of the training input") }
        guard kind == 1, p.count >= 3 else {
            return TrainingError(description: "rank \(rank) could not read its share of the training input: \(string(p.dropFirst()))")
        }
        let line = Int(Int32(bitPattern: p[p.startIndex + 1].bitPattern)), hasField = int(p[p.startIndex + 2]) == 1
        let parts = string(p.dropFirst(3)).components(separatedBy: "\u{0}")
        guard parts.count == 3 else { return TrainingError(description: "rank \(rank) could not read its share of the training input") }
        return DatasetError(file: parts[0], line: line >= 0 ? line : nil, field: hasField ? parts[1] : nil, parts[2])
    }

    static func text(_ s: String) -> [Float] { s.utf8.map { Float($0) } }
    static func string(_ p: ArraySlice<Float>) -> String { String(decoding: p.map { UInt8(clamping: Int($0)) }, as: UTF8.self) }
}
