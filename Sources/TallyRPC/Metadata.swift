/// Call metadata: lower-case ASCII keys to string values, sent with START and END.
public typealias Metadata = [String: String]
