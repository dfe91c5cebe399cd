/// One searched parameter: its name and its domain.
public struct ParameterSpec: Sendable, Hashable {
    /// The parameter's name, as it appears in ``Params``.
    public var name: String
    /// The values it may take.
    public var domain: ParameterDomain

    /// Creates a parameter.
    public init(name: String, domain: ParameterDomain) {
        self.name = name
        self.domain = domain
    }

    /// A categorical parameter.
    public static func categorical(_ name: String, _ choices: [ParamValue]) -> ParameterSpec {
        ParameterSpec(name: name, domain: .categorical(choices))
    }

    /// An integer parameter in `low...high`.
    public static func int(_ name: String, low: Int, high: Int, step: Int = 1, log: Bool = false) -> ParameterSpec {
        ParameterSpec(name: name, domain: .int(low: low, high: high, step: step, log: log))
    }

    /// A float parameter in `low...high`.
    public static func float(
        _ name: String, low: Double, high: Double, log: Bool = false, step: Double? = nil
    ) -> ParameterSpec {
        ParameterSpec(name: name, domain: .float(low: low, high: high, log: log, step: step))
    }
}
