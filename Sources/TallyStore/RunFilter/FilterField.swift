/// A field of a run that filters and order terms refer to.
public enum FilterField: Sendable, Hashable, CustomStringConvertible {
    /// `params.<key>`: typed (string, int, double or bool), possibly different per run.
    case param(String)
    /// `metrics.<key>[.<aggregate>]`: an aggregate of the run's series of that key.
    case metric(String, MetricAggregate)
    /// `tags.<key>`: a string.
    case tag(String)
    /// A column of the run itself.
    case attribute(RunAttribute)

    /// The field written canonically (keys in backticks when they need them, the metric
    /// aggregate always spelled out).
    public var description: String {
        switch self {
        case .param(let key): "params.\(Self.written(key))"
        case .metric(let key, let aggregate): "metrics.\(Self.written(key)).\(aggregate.rawValue)"
        case .tag(let key): "tags.\(Self.written(key))"
        case .attribute(let attribute): attribute.rawValue
        }
    }

    /// A key as written in a filter: bare when every character may appear unquoted, else in
    /// backticks with `` ` `` and `\` escaped.
    static func written(_ key: String) -> String {
        if !key.isEmpty, key.unicodeScalars.allSatisfy(FilterLexer.isKeyCharacter) {
            return key
        }
        var text = "`"
        for scalar in key.unicodeScalars {
            if scalar == "`" || scalar == "\\" { text.unicodeScalars.append("\\") }
            text.unicodeScalars.append(scalar)
        }
        return text + "`"
    }
}
