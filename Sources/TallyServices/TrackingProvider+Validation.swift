import TallyProto
import TallyRPC
import TallyStore

extension TrackingProvider {
    static func invalid(_ message: String, field: String) -> RPCError {
        StoreError(code: .invalidArgument, message: message, field: field).rpcError
    }

    /// Keys of params, metrics and tags: 1…maxKeyLength characters of letters, digits, `_`, `-`,
    /// `.`, `/`, `:` and inner spaces.
    func validateKey(_ key: String, kind: String) throws {
        guard !key.isEmpty else { throw Self.invalid("\(kind) key must not be empty", field: kind) }
        guard key.count <= limits.maxKeyLength else {
            throw Self.invalid("\(kind) key \"\(key.prefix(40))…\" is longer than \(limits.maxKeyLength) characters", field: key)
        }
        let allowed = key.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ".", "/", ":", " ": true
            default: false
            }
        }
        guard allowed, key.first != " ", key.last != " " else {
            throw Self.invalid("\(kind) key \"\(key)\" may only hold letters, digits, _ - . / : and inner spaces", field: key)
        }
    }

    func validateName(_ name: String, kind: String, required: Bool) throws {
        if required && name.trimmingCharacters(in: .whitespaces).isEmpty {
            throw Self.invalid("\(kind) name must not be empty", field: "name")
        }
        guard name.count <= limits.maxNameLength else {
            throw Self.invalid("\(kind) name is longer than \(limits.maxNameLength) characters", field: "name")
        }
    }

    func validateTags(_ tags: [String: String]) throws {
        guard tags.count <= limits.maxTags else {
            throw Self.invalid("at most \(limits.maxTags) tags, got \(tags.count)", field: "tags")
        }
        for (key, value) in tags {
            try validateKey(key, kind: "tag")
            guard value.count <= limits.maxTagValueLength else {
                throw Self.invalid("tag \"\(key)\" value is longer than \(limits.maxTagValueLength) characters", field: key)
            }
        }
    }

    func paramRecords(_ params: [String: ParamValue]) throws -> [String: ParamValueRecord] {
        guard params.count <= limits.maxParamsPerRequest else {
            throw Self.invalid("at most \(limits.maxParamsPerRequest) params per request, got \(params.count)", field: "params")
        }
        var records: [String: ParamValueRecord] = [:]
        for (key, value) in params {
            try validateKey(key, kind: "param")
            guard let record = value.record else {
                throw Self.invalid("param \"\(key)\" has no value", field: key)
            }
            if case .string(let text) = record, text.count > limits.maxParamValueLength {
                throw Self.invalid("param \"\(key)\" value is longer than \(limits.maxParamValueLength) characters", field: key)
            }
            records[key] = record
        }
        return records
    }

    func validateID(_ id: String, field: String) throws {
        guard !id.isEmpty else { throw Self.invalid("\(field) is required", field: field) }
        guard id.utf8.count <= 64 else { throw Self.invalid("\(field) is not a valid id", field: field) }
    }
}

extension String {
    func trimmingCharacters(in set: CharacterSetLike) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" || first == "\n" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" || last == "\n" { scalars.removeLast() }
        return String(scalars)
    }
}

/// Only whitespace trimming is needed; this avoids importing Foundation here.
enum CharacterSetLike {
    case whitespaces
}
