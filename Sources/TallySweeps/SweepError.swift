/// A sweep definition or an input to the sweep statistics that cannot be used.
public struct SweepError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong; extensible.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A parameter definition is unusable: `low > high`, an empty or duplicated categorical
        /// list, a log scale with `low <= 0`, a step that is not positive, a duplicated name.
        public static let invalidSearchSpace = Code(rawValue: "invalid_search_space")
        /// A grid was asked for over a continuous parameter (a float without a step).
        public static let continuousParameterInGrid = Code(rawValue: "continuous_parameter_in_grid")
        /// The grid has more points than `Int.max`.
        public static let gridTooLarge = Code(rawValue: "grid_too_large")
        /// A statistic was asked for over no values.
        public static let emptyInput = Code(rawValue: "empty_input")
        /// An input value is unusable: not finite, or lists of different lengths.
        public static let invalidInput = Code(rawValue: "invalid_input")
        /// A sampler setting is out of range (for example `candidates < 1`).
        public static let invalidConfiguration = Code(rawValue: "invalid_configuration")

        public var description: String { rawValue }
    }

    /// What is wrong.
    public var code: Code
    /// A description for people, naming the parameter or input at fault.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
