"""Swift message and enum types over protoc-c's C structs (module TallyProto)."""

from model import (FD, Comments, is_synthetic_single_oneof, lower_camel, module_basename,
                   swift_escape, upper_camel, c_field_name)

SCALARS = {
    FD.TYPE_DOUBLE: ("Double", "0"),
    FD.TYPE_FLOAT: ("Float", "0"),
    FD.TYPE_INT64: ("Int64", "0"),
    FD.TYPE_SINT64: ("Int64", "0"),
    FD.TYPE_SFIXED64: ("Int64", "0"),
    FD.TYPE_UINT64: ("UInt64", "0"),
    FD.TYPE_FIXED64: ("UInt64", "0"),
    FD.TYPE_INT32: ("Int32", "0"),
    FD.TYPE_SINT32: ("Int32", "0"),
    FD.TYPE_SFIXED32: ("Int32", "0"),
    FD.TYPE_UINT32: ("UInt32", "0"),
    FD.TYPE_FIXED32: ("UInt32", "0"),
}


JSON_INT32 = {FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32, FD.TYPE_UINT32, FD.TYPE_FIXED32}
JSON_INT64 = {FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64}
JSON_UINT64 = {FD.TYPE_UINT64, FD.TYPE_FIXED64}


def json_name(field):
    """The field's proto3 JSON name (protoc fills json_name; else protobuf's own camel-casing)."""
    if field.HasField("json_name") and field.json_name:
        return field.json_name
    out, up = [], False
    for ch in field.name:
        if ch == "_":
            up = True
        elif up:
            out.append(ch.upper())
            up = False
        else:
            out.append(ch)
    return "".join(out)


def json_expr(field, v):
    """A Swift expression building the JSONValue of one value `v` of the field's type."""
    t = field.type
    if t == FD.TYPE_DOUBLE:
        return ".double(%s)" % v
    if t == FD.TYPE_FLOAT:
        return ".float(%s)" % v
    if t in JSON_INT32:
        return ".integer(Int64(%s))" % v
    if t in JSON_INT64:
        return ".int64(%s)" % v
    if t in JSON_UINT64:
        return ".uint64(%s)" % v
    if t == FD.TYPE_BOOL:
        return ".bool(%s)" % v
    if t == FD.TYPE_STRING:
        return ".string(%s)" % v
    if t == FD.TYPE_BYTES:
        return ".bytes(%s)" % v
    if t in (FD.TYPE_ENUM, FD.TYPE_MESSAGE):
        return "%s.protoJSON" % v
    raise ValueError(t)


def json_is_set(field, v):
    """A Swift condition that holds when a singular implicit-presence field is not at its default."""
    t = field.type
    if t in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return "%s.bitPattern != 0" % v
    if t == FD.TYPE_BOOL:
        return v
    if t in (FD.TYPE_STRING, FD.TYPE_BYTES):
        return "!%s.isEmpty" % v
    if t == FD.TYPE_ENUM:
        return "%s.rawValue != 0" % v
    return "%s != 0" % v


def doc(out, indent, lines, fallback=None):
    if not lines and fallback:
        lines = [fallback]
    for line in lines:
        out.append(indent + ("/// " + line if line else "///").rstrip())


class SwiftMessages:
    def __init__(self, index, files_to_generate):
        self.index = index
        self.files = files_to_generate
        self._reach = {}

    # Types -----------------------------------------------------------------

    def value_type(self, field):
        t = field.type
        if t in SCALARS:
            return SCALARS[t][0]
        if t == FD.TYPE_BOOL:
            return "Bool"
        if t == FD.TYPE_STRING:
            return "String"
        if t == FD.TYPE_BYTES:
            return "[UInt8]"
        if t == FD.TYPE_ENUM:
            return self.index.enum(field.type_name).swift_name
        if t == FD.TYPE_MESSAGE:
            return self.index.message(field.type_name).swift_name
        raise ValueError("unsupported field type %d (%s)" % (t, field.name))

    def default_value(self, field):
        t = field.type
        if t in SCALARS:
            return "0"
        return {FD.TYPE_BOOL: "false", FD.TYPE_STRING: '""', FD.TYPE_BYTES: "[]"}.get(
            t, "%s(rawValue: 0)" % self.value_type(field) if t == FD.TYPE_ENUM else None)

    def reaches(self, start, target):
        """Whether message `start` contains `target` through singular message fields (needs boxing)."""
        seen, stack = set(), [start]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            for f in self.index.messages[name].proto.field:
                if f.type == FD.TYPE_MESSAGE and f.label != FD.LABEL_REPEATED:
                    sub = f.type_name.lstrip(".")
                    if sub == target:
                        return True
                    stack.append(sub)
        return False

    def is_boxed(self, msg, field):
        return (field.type == FD.TYPE_MESSAGE and field.label != FD.LABEL_REPEATED
                and self.reaches(field.type_name.lstrip("."), msg.full_name))

    # Conversion expressions -------------------------------------------------

    def to_c(self, field, v, path):
        t = field.type
        if t in SCALARS:
            return v
        if t == FD.TYPE_BOOL:
            return "%s ? 1 : 0" % v
        if t == FD.TYPE_STRING:
            return 'try arena.string(%s, field: "%s")' % (v, path)
        if t == FD.TYPE_BYTES:
            return "arena.bytes(%s)" % v
        if t == FD.TYPE_ENUM:
            return ".init(rawValue: .init(truncatingIfNeeded: %s.rawValue))" % v
        if t == FD.TYPE_MESSAGE:
            return 'try arena.message(%s, field: "%s")' % (v, path)
        raise ValueError(t)

    def from_c(self, field, x):
        t = field.type
        if t in SCALARS:
            return x
        if t == FD.TYPE_BOOL:
            return "%s != 0" % x
        if t == FD.TYPE_STRING:
            return "CConvert.string(%s)" % x
        if t == FD.TYPE_BYTES:
            return "CConvert.bytes(%s)" % x
        if t == FD.TYPE_ENUM:
            return "%s(rawValue: Int32(truncatingIfNeeded: %s.rawValue))" % (self.value_type(field), x)
        if t == FD.TYPE_MESSAGE:
            return "%s(cMessage: %s)" % (self.value_type(field), x)
        raise ValueError(t)

    # Files -------------------------------------------------------------------

    def generate_file(self, f):
        comments = Comments(f)
        out = [
            "// DO NOT EDIT. Generated by scripts/generate-protos from proto/%s." % f.name,
            "import CProtobufC",
            "import CTallyProto",
            "",
        ]
        for i, e in enumerate(f.enum_type):
            self.emit_enum(out, "", self.index.enum(self.qualify(f.package, e.name)), comments)
            out.append("")
        for i, m in enumerate(f.message_type):
            self.emit_message(out, "", self.index.message(self.qualify(f.package, m.name)), comments)
            out.append("")
        out.append("// MARK: - Conversion to and from protoc-c's structs")
        out.append("")
        for m in self.all_messages(f):
            self.emit_conversion(out, m)
            out.append("")
        out.append("// MARK: - proto3 JSON")
        out.append("")
        for e in self.all_enums(f):
            self.emit_enum_json(out, e)
            out.append("")
        for m in self.all_messages(f):
            self.emit_json(out, m)
            out.append("")
        out.append("// MARK: - proto3 JSON decoding")
        out.append("")
        for e in self.all_enums(f):
            self.emit_enum_json_decode(out, e)
            out.append("")
        for m in self.all_messages(f):
            self.emit_json_decode(out, m)
            out.append("")
        while out and out[-1] == "":
            out.pop()
        return "\n".join(out) + "\n"

    @staticmethod
    def qualify(pkg, name):
        return "%s.%s" % (pkg, name) if pkg else name

    def all_messages(self, f):
        return [m for m in self.index.messages.values() if m.file is f and not m.is_map_entry]

    def all_enums(self, f):
        return [e for e in self.index.enums.values() if e.file is f]

    def generate_registry(self):
        out = [
            "// DO NOT EDIT. Generated by scripts/generate-protos from proto/.",
            "",
            "/// Every message type of the .proto files, by full protobuf name (\"tally.v1.Sample\").",
            "public enum ProtoRegistry {",
            "    /// The message types, by full protobuf name.",
            "    public static let messageTypes: [String: any ProtoMessage.Type] = [",
        ]
        names = sorted(m.full_name for f in self.files for m in self.all_messages(f))
        for n in names:
            out.append('        "%s": %s.self,' % (n, self.index.messages[n].swift_name))
        out += ["    ]", "}"]
        return "\n".join(out) + "\n"

    # Enums -------------------------------------------------------------------

    def emit_enum(self, out, ind, e, comments):
        name = swift_escape(e.proto.name)
        doc(out, ind, comments.lines(e.path), "The enum `%s`." % e.full_name)
        out.append("%spublic struct %s: RawRepresentable, Hashable, Sendable, CustomStringConvertible {" % (ind, name))
        i2 = ind + "    "
        out.append(i2 + "/// The value's number; numbers the .proto file does not declare are kept as they are.")
        out.append(i2 + "public var rawValue: Int32")
        out.append("")
        out.append(i2 + "/// Creates a value from its number (known or not).")
        out.append(i2 + "public init(rawValue: Int32) { self.rawValue = rawValue }")
        out.append("")
        names = []
        for i, v in enumerate(e.proto.value):
            case = e.swift_case_name(v.name)
            names.append(case)
            doc(out, i2, comments.lines(e.path + [2, i]), "`%s` (%d)." % (v.name, v.number))
            out.append("%spublic static let %s = %s(rawValue: %d)" % (i2, case, name, v.number))
        out.append("")
        out.append(i2 + "/// The values the .proto file declares, in declaration order.")
        out.append("%spublic static let knownValues: [%s] = [%s]" % (i2, name, ", ".join("." + n for n in names)))
        out.append("")
        out.append(i2 + "/// The value's name in the .proto file, or its number when it has none.")
        out.append(i2 + "public var description: String {")
        out.append(i2 + "    switch rawValue {")
        seen = set()
        for v in e.proto.value:
            if v.number in seen:
                continue
            seen.add(v.number)
            out.append('%s    case %d: "%s"' % (i2, v.number, v.name))
        out.append(i2 + "    default: String(rawValue)")
        out.append(i2 + "    }")
        out.append(i2 + "}")
        out.append(ind + "}")

    # Messages ------------------------------------------------------------------

    def emit_message(self, out, ind, m, comments):
        p = m.proto
        doc(out, ind, comments.lines(m.path), "The message `%s`." % m.full_name)
        out.append("%spublic struct %s: ProtoMessage {" % (ind, m.simple_swift_name))
        i2 = ind + "    "
        out.append(i2 + "/// The full protobuf name of the message.")
        out.append('%spublic static let protoMessageName = "%s"' % (i2, m.full_name))
        nested_names = {n.name for n in p.nested_type} | {n.name for n in p.enum_type}
        done_oneofs = set()
        for fi, field in enumerate(p.field):
            fpath = m.path + [2, fi]
            if field.HasField("oneof_index"):
                oi = field.oneof_index
                if is_synthetic_single_oneof(p, oi):
                    out.append("")
                    doc(out, i2, comments.lines(fpath) or comments.lines(m.path + [8, oi]),
                        "`%s` (field %d); nil when not set." % (field.name, field.number))
                    self.emit_property(out, i2, m, field, "%s?" % self.value_type(field), "nil")
                    continue
                if oi in done_oneofs:
                    continue
                done_oneofs.add(oi)
                self.emit_oneof(out, i2, m, oi, comments, nested_names)
                continue
            out.append("")
            doc(out, i2, comments.lines(fpath), "`%s` (field %d)." % (field.name, field.number))
            entry = self.index.map_entry(field)
            if entry:
                k, v = entry.proto.field[0], entry.proto.field[1]
                out.append("%spublic var %s: [%s: %s] = [:]" % (
                    i2, swift_escape(lower_camel(field.name)), self.value_type(k), self.value_type(v)))
            elif field.label == FD.LABEL_REPEATED:
                out.append("%spublic var %s: [%s] = []" % (i2, swift_escape(lower_camel(field.name)), self.value_type(field)))
            elif field.type == FD.TYPE_MESSAGE:
                self.emit_property(out, i2, m, field, "%s?" % self.value_type(field), "nil")
            else:
                out.append("%spublic var %s: %s = %s" % (
                    i2, swift_escape(lower_camel(field.name)), self.value_type(field), self.default_value(field)))
        out.append("")
        out.append(i2 + "/// Creates a message with every field at its default value.")
        out.append(i2 + "public init() {}")
        out.append("")
        out.append(i2 + "/// Decodes a message from its protobuf wire bytes.")
        out.append(i2 + "public init(serializedBytes bytes: [UInt8]) throws(ProtoError) {")
        out.append(i2 + "    self = try ProtoCodec.decode(Self.self, from: bytes)")
        out.append(i2 + "}")
        out.append("")
        out.append(i2 + "/// Decodes a message from its protobuf wire bytes.")
        out.append(i2 + "public init(serializedBytes bytes: UnsafeRawBufferPointer) throws(ProtoError) {")
        out.append(i2 + "    self = try ProtoCodec.decode(Self.self, from: bytes)")
        out.append(i2 + "}")
        out.append("")
        out.append(i2 + "/// Encodes the message to protobuf wire bytes (map entries sorted by key).")
        out.append(i2 + "public func serializedBytes() throws(ProtoError) -> [UInt8] {")
        out.append(i2 + "    try ProtoCodec.encode(self)")
        out.append(i2 + "}")
        for i, e in enumerate(p.enum_type):
            out.append("")
            self.emit_enum(out, i2, self.index.enum(m.full_name + "." + e.name), comments)
        for n in p.nested_type:
            nested = self.index.messages[m.full_name + "." + n.name]
            if nested.is_map_entry:
                continue
            out.append("")
            self.emit_message(out, i2, nested, comments)
        out.append(ind + "}")

    def emit_property(self, out, ind, m, field, swift_type, default):
        name = swift_escape(lower_camel(field.name))
        if self.is_boxed(m, field):
            base = self.value_type(field)
            storage = "_" + lower_camel(field.name)
            out.append("%spublic var %s: %s {" % (ind, name, swift_type))
            out.append("%s    get { %s?.value }" % (ind, storage))
            out.append("%s    set { %s = newValue.map { ProtoBox($0) } }" % (ind, storage))
            out.append(ind + "}")
            out.append("%sprivate var %s: ProtoBox<%s>? = nil" % (ind, storage, base))
        else:
            out.append("%spublic var %s: %s = %s" % (ind, name, swift_type, default))

    def oneof_type_name(self, p, oi, nested_names):
        name = upper_camel(p.oneof_decl[oi].name)
        return name + "Oneof" if name in nested_names else name

    def emit_oneof(self, out, ind, m, oi, comments, nested_names):
        p = m.proto
        oneof = p.oneof_decl[oi]
        tname = self.oneof_type_name(p, oi, nested_names)
        members = [(fi, f) for fi, f in enumerate(p.field) if f.HasField("oneof_index") and f.oneof_index == oi]
        recursive = any(f.type == FD.TYPE_MESSAGE and self.reaches(f.type_name.lstrip("."), m.full_name)
                        for _, f in members)
        out.append("")
        doc(out, ind, comments.lines(m.path + [8, oi]), "The oneof `%s`; nil when no member is set." % oneof.name)
        out.append("%spublic var %s: %s? = nil" % (ind, swift_escape(lower_camel(oneof.name)), tname))
        out.append("")
        out.append("%s/// The members of the oneof `%s`." % (ind, oneof.name))
        out.append("%spublic %senum %s: Sendable, Hashable {" % (ind, "indirect " if recursive else "", tname))
        for fi, f in members:
            doc(out, ind + "    ", comments.lines(m.path + [2, fi]), "`%s` (field %d)." % (f.name, f.number))
            out.append("%s    case %s(%s)" % (ind, swift_escape(lower_camel(f.name)), self.value_type(f)))
        out.append(ind + "}")

    # proto3 JSON ------------------------------------------------------------------

    def emit_enum_json(self, out, e):
        out.append("extension %s: ProtoJSONEncodable {" % e.swift_name)
        out.append("    /// The value's name; a number the .proto file does not declare stays a number.")
        out.append("    public var protoJSON: JSONValue {")
        out.append("        switch rawValue {")
        seen = set()
        for v in e.proto.value:
            if v.number in seen:
                continue
            seen.add(v.number)
            out.append('        case %d: .string("%s")' % (v.number, v.name))
        out.append("        default: .integer(Int64(rawValue))")
        out.append("        }")
        out.append("    }")
        out.append("}")


    def emit_json(self, out, m):
        p = m.proto
        out.append("extension %s: ProtoJSONEncodable {" % m.swift_name)
        out.append("    /// The message in the proto3 JSON mapping.")
        out.append("    public var protoJSON: JSONValue {")
        body = []
        done_oneofs = set()
        for field in p.field:
            sf = swift_escape(lower_camel(field.name))
            key = json_name(field)
            if field.HasField("oneof_index"):
                oi = field.oneof_index
                if is_synthetic_single_oneof(p, oi):
                    body.append('if let v = self.%s { o["%s"] = %s }' % (sf, key, json_expr(field, "v")))
                    continue
                if oi in done_oneofs:
                    continue
                done_oneofs.add(oi)
                members = [f for f in p.field if f.HasField("oneof_index") and f.oneof_index == oi]
                body.append("switch self.%s {" % swift_escape(lower_camel(p.oneof_decl[oi].name)))
                for f in members:
                    body.append('case .%s(let v)?: o["%s"] = %s' % (
                        swift_escape(lower_camel(f.name)), json_name(f), json_expr(f, "v")))
                body.append("case nil: break")
                body.append("}")
                continue
            entry = self.index.map_entry(field)
            if entry:
                k, v = entry.proto.field[0], entry.proto.field[1]
                kexpr = "k" if k.type == FD.TYPE_STRING else "String(k)"
                body.append("if !self.%s.isEmpty {" % sf)
                body.append("    var m: [String: JSONValue] = [:]")
                body.append("    for (k, v) in self.%s { m[%s] = %s }" % (sf, kexpr, json_expr(v, "v")))
                body.append('    o["%s"] = .object(m)' % key)
                body.append("}")
            elif field.label == FD.LABEL_REPEATED:
                body.append('if !self.%s.isEmpty { o["%s"] = .array(self.%s.map { %s }) }' % (
                    sf, key, sf, json_expr(field, "$0")))
            elif field.type == FD.TYPE_MESSAGE:
                body.append('if let v = self.%s { o["%s"] = %s }' % (sf, key, json_expr(field, "v")))
            else:
                body.append('if %s { o["%s"] = %s }' % (
                    json_is_set(field, "self." + sf), key, json_expr(field, "self." + sf)))
        if body:
            out.append("        var o: [String: JSONValue] = [:]")
            for line in body:
                out.append("        " + line)
            out.append("        return .object(o)")
        else:
            out.append("        .object([:])")
        out.append("    }")
        out.append("}")

    # proto3 JSON decoding ----------------------------------------------------------

    def json_decoder(self, field):
        """A Swift function reference reading one value of the field's type from a JSONValue."""
        t = field.type
        if t == FD.TYPE_DOUBLE:
            return "ProtoJSONDecoding.decodeDouble"
        if t == FD.TYPE_FLOAT:
            return "ProtoJSONDecoding.decodeFloat"
        if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
            return "ProtoJSONDecoding.decodeInt32"
        if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
            return "ProtoJSONDecoding.decodeUInt32"
        if t in JSON_INT64:
            return "ProtoJSONDecoding.decodeInt64"
        if t in JSON_UINT64:
            return "ProtoJSONDecoding.decodeUInt64"
        if t == FD.TYPE_BOOL:
            return "ProtoJSONDecoding.decodeBool"
        if t == FD.TYPE_STRING:
            return "ProtoJSONDecoding.decodeString"
        if t == FD.TYPE_BYTES:
            return "ProtoJSONDecoding.decodeBytes"
        if t in (FD.TYPE_ENUM, FD.TYPE_MESSAGE):
            return "%s.init(protoJSON:)" % self.value_type(field)
        raise ValueError(t)

    def json_key_decoder(self, key_field):
        t = key_field.type
        if t == FD.TYPE_STRING:
            return "ProtoJSONDecoding.stringKey"
        if t == FD.TYPE_BOOL:
            return "ProtoJSONDecoding.boolKey"
        if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
            return "ProtoJSONDecoding.int32Key"
        if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
            return "ProtoJSONDecoding.uint32Key"
        if t in JSON_INT64:
            return "ProtoJSONDecoding.int64Key"
        if t in JSON_UINT64:
            return "ProtoJSONDecoding.uint64Key"
        raise ValueError("unsupported map key type %d" % t)

    def json_decode_expr(self, field, v):
        """A Swift expression reading one value of the field's type from JSONValue `v`."""
        if field.type in (FD.TYPE_ENUM, FD.TYPE_MESSAGE):
            return "try %s(protoJSON: %s)" % (self.value_type(field), v)
        return "try %s(%s)" % (self.json_decoder(field), v)

    def emit_enum_json_decode(self, out, e):
        out.append("extension %s: ProtoJSONDecodable {" % e.swift_name)
        out.append("    /// Reads the value from its name in the .proto file or from its number (any int32).")
        out.append("    public init(protoJSON json: JSONValue) throws(ProtoJSONError) {")
        out.append("        if case .string(let name) = json {")
        out.append("            switch name {")
        for v in e.proto.value:
            out.append('            case "%s": self.init(rawValue: %d); return' % (v.name, v.number))
        out.append("            default: break")
        out.append("            }")
        out.append("        }")
        out.append('        self.init(rawValue: try ProtoJSONDecoding.enumNumber(json, enumName: "%s"))' % e.full_name)
        out.append("    }")
        out.append("}")

    def emit_json_decode(self, out, m):
        p = m.proto
        out.append("extension %s: ProtoJSONDecodable {" % m.swift_name)
        out.append("    /// Reads the message from the proto3 JSON mapping: fields by JSON name or original name,")
        out.append("    /// `null` for a field's default; unknown fields and two members of a oneof are errors.")
        out.append("    public init(protoJSON json: JSONValue) throws(ProtoJSONError) {")
        out.append("        self.init()")
        out.append("        let members = try ProtoJSONDecoding.members(of: json, message: Self.protoMessageName)")
        if not p.field:
            out.append("        try ProtoJSONDecoding.rejectMembers(members, message: Self.protoMessageName)")
            out.append("    }")
            out.append("}")
            return
        # Every spelling must name exactly one field.
        spellings = {}
        for field in p.field:
            for name in (json_name(field), field.name):
                other = spellings.setdefault(name, field.number)
                if other != field.number:
                    raise ValueError("%s: the JSON name %r names fields %d and %d" % (m.full_name, name, other, field.number))
        real_oneofs = sorted({f.oneof_index for f in p.field
                              if f.HasField("oneof_index") and not is_synthetic_single_oneof(p, f.oneof_index)})
        for oi in real_oneofs:
            out.append("        var oneof%d: String? = nil" % oi)
        out.append("        for (key, value) in ProtoJSONDecoding.sorted(members) {")
        out.append("            do throws(ProtoJSONError) {")
        out.append("                switch key {")
        for field in p.field:
            jn, pn = json_name(field), field.name
            sf = swift_escape(lower_camel(field.name))
            labels = ['"%s"' % jn] + (['"%s"' % pn] if pn != jn else [])
            out.append("                case %s:" % ", ".join(labels))
            body = []
            if pn != jn:
                body.append('try ProtoJSONDecoding.checkSingleSpelling(members, "%s", "%s")' % (jn, pn))
            body.append("if case .null = value { continue }")
            if field.HasField("oneof_index") and not is_synthetic_single_oneof(p, field.oneof_index):
                oi = field.oneof_index
                body.append('try ProtoJSONDecoding.setOneof(&oneof%d, key, oneof: "%s")' % (oi, p.oneof_decl[oi].name))
                body.append("self.%s = .%s(%s)" % (
                    swift_escape(lower_camel(p.oneof_decl[oi].name)), sf, self.json_decode_expr(field, "value")))
            else:
                entry = self.index.map_entry(field)
                if entry:
                    k, v = entry.proto.field[0], entry.proto.field[1]
                    body.append("self.%s = try ProtoJSONDecoding.map(value, key: %s, value: %s)" % (
                        sf, self.json_key_decoder(k), self.json_decoder(v)))
                elif field.label == FD.LABEL_REPEATED:
                    body.append("self.%s = try ProtoJSONDecoding.array(value, %s)" % (sf, self.json_decoder(field)))
                else:
                    body.append("self.%s = %s" % (sf, self.json_decode_expr(field, "value")))
            for line in body:
                out.append("                    " + line)
        out.append("                default:")
        out.append("                    throw ProtoJSONDecoding.unknownField(key, message: Self.protoMessageName)")
        out.append("                }")
        out.append("            } catch {")
        out.append("                throw error.inField(key)")
        out.append("            }")
        out.append("        }")
        out.append("    }")
        out.append("}")

    # Conversion ------------------------------------------------------------------

    def emit_conversion(self, out, m):
        p = m.proto
        out.append("extension %s: CMessageConvertible {" % m.swift_name)
        out.append("    typealias CStruct = %s" % m.c_type)
        out.append("")
        out.append("    nonisolated(unsafe) static let cDescriptor = CConvert.descriptor(of: %s__init)" % m.c_lower)
        out.append("")
        out.append("    static func cInit(_ c: UnsafeMutablePointer<CStruct>) {")
        out.append("        %s__init(c)" % m.c_lower)
        out.append("    }")
        out.append("")
        decode, encode = [], []
        nested_names = {n.name for n in p.nested_type} | {n.name for n in p.enum_type}
        done_oneofs = set()
        for field in p.field:
            cf = swift_escape(c_field_name(field.name))
            sf = swift_escape(lower_camel(field.name))
            if field.HasField("oneof_index"):
                oi = field.oneof_index
                oneof = p.oneof_decl[oi]
                case_field = swift_escape(c_field_name(oneof.name) + "_case")
                if is_synthetic_single_oneof(p, oi):
                    decode.append("if c.pointee.%s.rawValue == %d {" % (case_field, field.number))
                    decode.append("    self.%s = %s" % (sf, self.from_c(field, "c.pointee." + cf)))
                    decode.append("}")
                    encode.append("if let v = self.%s {" % sf)
                    encode.append("    c.pointee.%s = .init(rawValue: %d)" % (case_field, field.number))
                    encode.append("    c.pointee.%s = %s" % (cf, self.to_c(field, "v", field.name)))
                    encode.append("}")
                    continue
                if oi in done_oneofs:
                    continue
                done_oneofs.add(oi)
                members = [f for f in p.field if f.HasField("oneof_index") and f.oneof_index == oi]
                on = swift_escape(lower_camel(oneof.name))
                decode.append("switch c.pointee.%s.rawValue {" % case_field)
                for f in members:
                    decode.append("case %d: self.%s = .%s(%s)" % (
                        f.number, on, swift_escape(lower_camel(f.name)),
                        self.from_c(f, "c.pointee." + swift_escape(c_field_name(f.name)))))
                decode.append("default: break")
                decode.append("}")
                encode.append("switch self.%s {" % on)
                for f in members:
                    encode.append("case .%s(let v)?:" % swift_escape(lower_camel(f.name)))
                    encode.append("    c.pointee.%s = .init(rawValue: %d)" % (case_field, f.number))
                    encode.append("    c.pointee.%s = %s" % (swift_escape(c_field_name(f.name)), self.to_c(f, "v", f.name)))
                encode.append("case nil: break")
                encode.append("}")
                continue
            entry = self.index.map_entry(field)
            n_field = "n_" + c_field_name(field.name)
            if entry:
                self.emit_map(decode, encode, field, entry, cf, sf, n_field)
            elif field.label == FD.LABEL_REPEATED:
                self.emit_repeated(decode, encode, field, cf, sf, n_field)
            elif field.type == FD.TYPE_MESSAGE:
                decode.append("if let p = c.pointee.%s { self.%s = %s }" % (cf, sf, self.from_c(field, "p")))
                encode.append("if let v = self.%s { c.pointee.%s = %s }" % (sf, cf, self.to_c(field, "v", field.name)))
            else:
                decode.append("self.%s = %s" % (sf, self.from_c(field, "c.pointee." + cf)))
                encode.append("c.pointee.%s = %s" % (cf, self.to_c(field, "self." + sf, field.name)))
        out.append("    init(cMessage c: UnsafePointer<CStruct>) {")
        out.append("        self.init()")
        for line in decode:
            out.append("        " + line)
        out.append("    }")
        out.append("")
        out.append("    func fill(_ c: UnsafeMutablePointer<CStruct>, arena: CArena) throws(ProtoError) {")
        for line in encode:
            out.append("        " + line)
        out.append("    }")
        out.append("}")

    def emit_repeated(self, decode, encode, field, cf, sf, n_field):
        t = field.type
        src = "c.pointee.%s, count: c.pointee.%s" % (cf, n_field)
        encode.append("c.pointee.%s = self.%s.count" % (n_field, sf))
        if t in SCALARS:
            decode.append("self.%s = CConvert.array(%s)" % (sf, src))
            encode.append("c.pointee.%s = arena.array(self.%s)" % (cf, sf))
        elif t == FD.TYPE_BOOL:
            decode.append("self.%s = CConvert.bools(%s)" % (sf, src))
            encode.append("c.pointee.%s = arena.bools(self.%s)" % (cf, sf))
        elif t == FD.TYPE_ENUM:
            decode.append("self.%s = CConvert.enumValues(%s).map(%s.init(rawValue:))" % (sf, src, self.value_type(field)))
            encode.append("c.pointee.%s = arena.enumValues(self.%s.map(\\.rawValue))" % (cf, sf))
        elif t == FD.TYPE_STRING:
            decode.append("self.%s = CConvert.strings(%s)" % (sf, src))
            encode.append('c.pointee.%s = try arena.strings(self.%s, field: "%s")' % (cf, sf, field.name))
        elif t == FD.TYPE_BYTES:
            decode.append("self.%s = CConvert.bytesArray(%s)" % (sf, src))
            encode.append("c.pointee.%s = arena.bytesArray(self.%s)" % (cf, sf))
        elif t == FD.TYPE_MESSAGE:
            decode.append("self.%s = CConvert.messages(%s)" % (sf, src))
            encode.append('c.pointee.%s = try arena.messages(self.%s, field: "%s")' % (cf, sf, field.name))
        else:
            raise ValueError(t)

    def emit_map(self, decode, encode, field, entry, cf, sf, n_field):
        k, v = entry.proto.field[0], entry.proto.field[1]
        kc, vc = swift_escape(c_field_name(k.name)), swift_escape(c_field_name(v.name))
        if v.type == FD.TYPE_MESSAGE:
            vdecode = "e.%s.map { %s } ?? %s()" % (vc, self.from_c(v, "$0"), self.value_type(v))
        else:
            vdecode = self.from_c(v, "e." + vc)
        decode.append("if c.pointee.%s > 0, let entries = c.pointee.%s {" % (n_field, cf))
        decode.append("    self.%s.reserveCapacity(c.pointee.%s)" % (sf, n_field))
        decode.append("    for i in 0..<c.pointee.%s {" % n_field)
        decode.append("        guard let e = entries[i]?.pointee else { continue }")
        decode.append("        self.%s[%s] = %s" % (sf, self.from_c(k, "e." + kc), vdecode))
        decode.append("    }")
        decode.append("}")
        encode.append("if !self.%s.isEmpty {" % sf)
        encode.append("    let sorted = CConvert.sortedEntries(self.%s)" % sf)
        encode.append("    let entries = arena.structPointers(%s.self, count: sorted.count, initializer: %s__init)" % (
            entry.c_type, entry.c_lower))
        encode.append("    for (i, entry) in sorted.enumerated() {")
        encode.append("        let e = entries[i]!")
        encode.append("        e.pointee.%s = %s" % (kc, self.to_c(k, "entry.key", field.name + ".key")))
        encode.append("        e.pointee.%s = %s" % (vc, self.to_c(v, "entry.value", field.name + ".value")))
        encode.append("    }")
        encode.append("    c.pointee.%s = sorted.count" % n_field)
        encode.append("    c.pointee.%s = entries" % cf)
        encode.append("}")


def swift_message_outputs(index, files):
    gen = SwiftMessages(index, files)
    outputs = {}
    for f in files:
        outputs["Sources/TallyProto/Generated/%s.pb.swift" % module_basename(f.name)] = gen.generate_file(f)
    outputs["Sources/TallyProto/Generated/ProtoRegistry.swift"] = gen.generate_registry()
    return outputs
