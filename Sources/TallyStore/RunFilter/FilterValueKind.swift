/// The kinds of values fields hold and literals are.
public enum FilterValueKind: String, Sendable, Hashable {
    case number
    case string
    case bool
}
