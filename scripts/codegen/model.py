"""Shared model of the .proto files handed to the plugin: names, comments, types."""

import re

from google.protobuf import descriptor_pb2

FD = descriptor_pb2.FieldDescriptorProto

SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import",
    "init", "inout", "internal", "let", "open", "operator", "private", "precedencegroup",
    "protocol", "public", "rethrows", "static", "struct", "subscript", "typealias", "var",
    "break", "case", "catch", "continue", "default", "defer", "do", "else", "fallthrough",
    "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where", "while",
    "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try",
    "Type", "Protocol", "some", "any", "consume", "copy", "borrowing", "consuming",
}

C_KEYWORDS = {
    "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case",
    "catch", "char", "class", "compl", "const", "const_cast", "continue",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum",
    "explicit", "extern", "false", "float", "for", "friend", "goto", "if",
    "inline", "int", "long", "mutable", "namespace", "new", "not", "not_eq",
    "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "return", "short", "signed", "sizeof", "static",
    "static_cast", "struct", "switch", "template", "this", "throw", "true", "try",
    "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual",
    "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
}

PYTHON_KEYWORDS = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
    "try", "while", "with", "yield",
}


def swift_escape(name):
    return "`%s`" % name if name in SWIFT_KEYWORDS else name


def upper_camel(name):
    """snake_case or camelCase → UpperCamelCase (`_o_step` → `OStep`)."""
    parts = [p for p in name.split("_") if p]
    return "".join(p[0].upper() + p[1:] for p in parts)


def lower_camel(name):
    """snake_case → lowerCamelCase (`f_double` → `fDouble`, `Info` → `info`, `URLFetch` → `urlFetch`)."""
    camel = upper_camel(name)
    if not camel:
        return name
    if camel.isupper():
        return camel.lower()
    run = len(camel) - len(camel.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if run <= 1:
        return camel[0].lower() + camel[1:]
    return camel[: run - 1].lower() + camel[run - 1:]


def snake_case(name):
    """CamelCase → snake_case (`EchoStream` → `echo_stream`, `GetURL` → `get_url`)."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


# protoc-c's naming rules (c_helpers.cc).
def _c_to_camel(piece):
    out, up = [], True
    for ch in piece:
        if ch == "_":
            up = True
        elif up:
            out.append(ch.upper())
            up = False
        else:
            out.append(ch)
    return "".join(out)


def _c_camel_to_lower(piece):
    out, was_upper = [], True
    for ch in piece:
        is_upper = ch.isupper()
        if is_upper:
            if not was_upper:
                out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
        was_upper = is_upper
    return "".join(out)


def c_type_name(full_name):
    return "__".join(_c_to_camel(p) for p in full_name.split(".") if p)


def c_lower_name(full_name):
    return "__".join(_c_camel_to_lower(p) for p in full_name.split(".") if p)


def c_field_name(name):
    n = name.lower()
    return n + "_" if n in C_KEYWORDS else n


def enum_value_prefix(enum_name):
    """`SampleKind` → `SAMPLE_KIND_` (the prefix stripped from value names)."""
    return snake_case(enum_name).upper() + "_"


class Comments:
    """Leading (else trailing) comments of one file, by source path."""

    def __init__(self, file_proto):
        self.by_path = {}
        for loc in file_proto.source_code_info.location:
            text = loc.leading_comments or loc.trailing_comments
            if text:
                self.by_path[tuple(loc.path)] = text

    def lines(self, path):
        text = self.by_path.get(tuple(path))
        if not text:
            return []
        lines = [line.rstrip() for line in text.split("\n")]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        # Drop the one space protoc keeps after `//`.
        if all(not line or line.startswith(" ") for line in lines):
            lines = [line[1:] for line in lines]
        return lines


class MessageInfo:
    def __init__(self, proto, full_name, file_proto, path, parent):
        self.proto = proto
        self.full_name = full_name
        self.file = file_proto
        self.path = path
        self.parent = parent
        self.is_map_entry = proto.options.map_entry
        pkg = file_proto.package
        rel = full_name[len(pkg) + 1:] if pkg else full_name
        self.swift_name = ".".join(swift_escape(p) for p in rel.split("."))
        self.simple_swift_name = swift_escape(proto.name)
        self.python_rel_name = rel
        self.c_type = c_type_name(full_name)
        self.c_lower = c_lower_name(full_name)


class EnumInfo:
    def __init__(self, proto, full_name, file_proto, path):
        self.proto = proto
        self.full_name = full_name
        self.file = file_proto
        self.path = path
        pkg = file_proto.package
        rel = full_name[len(pkg) + 1:] if pkg else full_name
        self.swift_name = ".".join(swift_escape(p) for p in rel.split("."))
        self.python_rel_name = rel

    def swift_case_name(self, value_name):
        prefix = enum_value_prefix(self.proto.name)
        stripped = value_name[len(prefix):] if value_name.startswith(prefix) and len(value_name) > len(prefix) else value_name
        name = lower_camel(stripped.lower())
        if name[:1].isdigit():
            name = "_" + name
        return swift_escape(name)


class Index:
    """Every message and enum of every file of the request, by full name."""

    def __init__(self, files):
        self.messages = {}
        self.enums = {}
        self.files = {f.name: f for f in files}
        for f in files:
            prefix = f.package
            for i, m in enumerate(f.message_type):
                self._add_message(m, prefix, f, [4, i], None)
            for i, e in enumerate(f.enum_type):
                full = "%s.%s" % (prefix, e.name) if prefix else e.name
                self.enums[full] = EnumInfo(e, full, f, [5, i])

    def _add_message(self, m, prefix, f, path, parent):
        full = "%s.%s" % (prefix, m.name) if prefix else m.name
        info = MessageInfo(m, full, f, path, parent)
        self.messages[full] = info
        for i, n in enumerate(m.nested_type):
            self._add_message(n, full, f, path + [3, i], info)
        for i, e in enumerate(m.enum_type):
            efull = "%s.%s" % (full, e.name)
            self.enums[efull] = EnumInfo(e, efull, f, path + [4, i])

    def message(self, type_name):
        return self.messages[type_name.lstrip(".")]

    def enum(self, type_name):
        return self.enums[type_name.lstrip(".")]

    def map_entry(self, field):
        if field.type != FD.TYPE_MESSAGE or field.label != FD.LABEL_REPEATED:
            return None
        m = self.message(field.type_name)
        return m if m.is_map_entry else None


def is_synthetic_single_oneof(message_proto, oneof_index):
    """A one-field oneof named `_x` stands for proto3 `optional` (presence of a scalar)."""
    oneof = message_proto.oneof_decl[oneof_index]
    members = [f for f in message_proto.field if f.HasField("oneof_index") and f.oneof_index == oneof_index]
    return oneof.name.startswith("_") and len(members) == 1


def module_basename(file_name):
    base = file_name.rsplit("/", 1)[-1]
    return base[:-len(".proto")] if base.endswith(".proto") else base
