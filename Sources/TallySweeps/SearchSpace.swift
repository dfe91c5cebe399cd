/// What a sweep searches: the parameters it samples, in order, and the parameters every trial
/// gets unchanged. Always valid: the initializer checks every definition.
public struct SearchSpace: Sendable, Hashable {
    /// The searched parameters, in declaration order (the grid's order: the last varies fastest).
    public let parameters: [ParameterSpec]
    /// Parameters every trial gets as they are.
    public let fixed: Params

    /// Creates a search space, or throws a ``SweepError`` with code `.invalidSearchSpace` naming
    /// the first unusable parameter (see ``ParameterDomain`` for the rules).
    public init(_ parameters: [ParameterSpec], fixed: Params = [:]) throws(SweepError) {
        try Self.validate(parameters, fixed: fixed)
        self.parameters = parameters
        self.fixed = fixed
    }

    /// The parameter named `name`.
    public func parameter(named name: String) -> ParameterSpec? {
        parameters.first { $0.name == name }
    }

    /// `sampled` with the fixed parameters added.
    func withFixed(_ sampled: Params) -> Params {
        sampled.merging(fixed) { sampledValue, _ in sampledValue }
    }
}
