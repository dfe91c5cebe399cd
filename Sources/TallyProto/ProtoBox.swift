/// Immutable heap storage for a message field whose type contains the message itself
/// (generated code stores such fields boxed, so the struct has a finite size).
final class ProtoBox<Value: Sendable & Hashable>: Sendable, Hashable {
    /// The stored value.
    let value: Value

    init(_ value: Value) { self.value = value }

    static func == (lhs: ProtoBox, rhs: ProtoBox) -> Bool { lhs.value == rhs.value }

    func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
