import Foundation

// The trainer arrives with the MMoE/Census issue; until then this binary says so plainly.
FileHandle.standardError.write(Data("mmoe-train: training is not implemented yet in this version (tensor core only); see README.md\n".utf8))
exit(2)
