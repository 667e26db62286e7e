/// The schema tree of `FileMetaData.schema` (flattened depth-first, `num_children` saying where a
/// group's children end) turned into leaf columns, each with its maximum definition and repetition
/// levels (Parquet's `README.md`, "Nested Encoding": each optional or repeated node on the path adds
/// a definition level, each repeated node a repetition level). A top-level primitive field is
/// flat; a field annotated `LIST` whose one leaf lies under one repeated node (the three-level
/// `list`/`element` form or the older two-level form), or a bare repeated primitive, is a list of
/// primitives. Anything else (structs, maps, lists of structs) is kept, marked unsupported, so the
/// refusal can come when a caller asks for that column.
struct ParquetColumn {
    /// The top-level field's name (what callers ask for), and the leaf's full dotted path.
    let name: String
    let path: String
    let type: ParquetPhysicalType?
    let maxDefinitionLevel: Int
    let maxRepetitionLevel: Int
    /// The definition level at which a list's element slot exists (the repeated node's level).
    let repeatedDefinitionLevel: Int
    /// Why this column cannot be read, or nil.
    let unsupported: String?
    /// Index of the leaf among all leaves: the column chunk's index in each row group.
    let leafIndex: Int

    var isList: Bool { maxRepetitionLevel > 0 }
}

enum ParquetSchema {
    static func columns(_ elements: [SchemaElement]) throws(ParquetFormatError) -> [ParquetColumn] {
        guard let root = elements.first else { throw ParquetFormatError("the schema is empty") }
        var index = 1
        var columns: [ParquetColumn] = []
        var leaves = 0

        // Walks one subtree; returns the leaves found under it with their levels.
        struct Leaf {
            var path: [String]
            var type: ParquetPhysicalType?
            var definition: Int
            var repetition: Int
            var repeatedDefinition: Int
            var repeatedNodes: Int
            var groups: Int
        }
        func walk(definition: Int, repetition: Int, repeatedDefinition: Int, depth: Int) throws(ParquetFormatError) -> (SchemaElement, [Leaf]) {
            guard index < elements.count else { throw ParquetFormatError("the schema's groups announce more children than it has elements") }
            guard depth < 32 else { throw ParquetFormatError("the schema is nested more than 32 deep") }
            let e = elements[index]
            index += 1
            let repeated = e.repetition == .repeated
            let d = definition + (e.repetition == .required || e.repetition == nil ? 0 : 1)
            let r = repetition + (repeated ? 1 : 0)
            let rd = repeated ? d : repeatedDefinition
            if e.numChildren == 0 && e.type != nil {
                return (e, [Leaf(path: [e.name], type: e.type, definition: d, repetition: r, repeatedDefinition: rd,
                                 repeatedNodes: repeated ? 1 : 0, groups: 0)])
            }
            var found: [Leaf] = []
            for _ in 0 ..< e.numChildren {
                for var leaf in try walk(definition: d, repetition: r, repeatedDefinition: rd, depth: depth + 1).1 {
                    leaf.path.insert(e.name, at: 0)
                    leaf.repeatedNodes += repeated ? 1 : 0
                    leaf.groups += 1
                    found.append(leaf)
                }
            }
            return (e, found)
        }

        for _ in 0 ..< root.numChildren {
            let (field, found) = try walk(definition: 0, repetition: 0, repeatedDefinition: 0, depth: 0)
            let isListGroup = field.convertedType == 3 || field.logicalTypeIsList
            for leaf in found {
                var why: String?
                if leaf.repetition > 1 || (leaf.repetition == 1 && leaf.repeatedNodes != 1) {
                    why = "nested lists are not supported"
                } else if leaf.groups > 0 && !(isListGroup && found.count == 1) {
                    why = field.convertedType == 1 || field.convertedType == 2 ? "maps are not supported" :
                        isListGroup ? "lists of structs are not supported" : "nested structs (groups) are not supported"
                } else if leaf.type == .int96 {
                    why = "INT96 timestamps are not supported (write timestamps as INT64, e.g. pyarrow's default without use_deprecated_int96_timestamps)"
                } else if leaf.type == .fixedLenByteArray {
                    why = "FIXED_LEN_BYTE_ARRAY columns are not supported"
                } else if leaf.type == nil {
                    why = "a leaf without a physical type"
                }
                columns.append(ParquetColumn(name: field.name, path: leaf.path.joined(separator: "."), type: leaf.type,
                                             maxDefinitionLevel: leaf.definition, maxRepetitionLevel: leaf.repetition,
                                             repeatedDefinitionLevel: leaf.repeatedDefinition, unsupported: why, leafIndex: leaves))
                leaves += 1
            }
            if found.isEmpty {
                // An empty group has no column chunk; nothing to read.
                continue
            }
        }
        guard index == elements.count else { throw ParquetFormatError("the schema has \(elements.count - index) elements outside its root") }
        return columns
    }
}
