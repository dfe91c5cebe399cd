import TallyProto

/// Search spaces for common model families, used by a sweep that names a preset
/// (``SweepConfig/preset``; docs/sweeps.md, "Presets"). The names are scikit-learn's (and
/// XGBoost's) constructor arguments, so a trial's params can be passed to the estimator as they are.
enum SweepPresets {
    /// The presets' names, sorted.
    static var names: [String] { spaces.keys.sorted() }

    /// The params of preset `name`, or `nil` when there is none of that name.
    static func params(_ name: String) -> [SweepParam]? {
        spaces[name]
    }

    private static let spaces: [String: [SweepParam]] = [
        "random-forest": [
            int("n_estimators", 50, 500, log: true),
            int("max_depth", 2, 32, log: true),
            int("min_samples_split", 2, 20),
            int("min_samples_leaf", 1, 10),
            choice("max_features", [.stringValue("sqrt"), .stringValue("log2"), .doubleValue(0.5), .doubleValue(1.0)]),
            choice("bootstrap", [.boolValue(true), .boolValue(false)]),
        ],
        "gradient-boosting": [
            int("n_estimators", 50, 500, log: true),
            float("learning_rate", 0.01, 0.3, log: true),
            int("max_depth", 2, 8),
            float("subsample", 0.5, 1.0),
            int("min_samples_leaf", 1, 20),
        ],
        "logistic-regression": [
            float("C", 1e-4, 100, log: true),
            choice("penalty", [.stringValue("l2"), .stringValue("l1")]),
            choice("solver", [.stringValue("saga")]),
            choice("class_weight", [.stringValue("none"), .stringValue("balanced")]),
        ],
        "svm": [
            float("C", 1e-3, 1e3, log: true),
            float("gamma", 1e-4, 1, log: true),
            choice("kernel", [.stringValue("rbf"), .stringValue("linear"), .stringValue("poly")]),
        ],
        "mlp": [
            choice("hidden_layer_sizes", [.stringValue("64"), .stringValue("128"), .stringValue("64,64"), .stringValue("128,64"), .stringValue("256,128")]),
            choice("activation", [.stringValue("relu"), .stringValue("tanh")]),
            float("alpha", 1e-6, 1e-2, log: true),
            float("learning_rate_init", 1e-4, 1e-1, log: true),
            choice("batch_size", [.intValue(32), .intValue(64), .intValue(128)]),
        ],
        "xgboost": [
            int("n_estimators", 100, 1000, log: true),
            float("learning_rate", 0.01, 0.3, log: true),
            int("max_depth", 3, 10),
            int("min_child_weight", 1, 10),
            float("subsample", 0.5, 1.0),
            float("colsample_bytree", 0.5, 1.0),
            float("gamma", 0, 5),
            float("reg_lambda", 1e-3, 10, log: true),
        ],
    ]

    private static func int(_ name: String, _ low: Int64, _ high: Int64, log: Bool = false) -> SweepParam {
        var range = SweepParam.IntRange()
        range.low = low
        range.high = high
        range.log = log
        var param = SweepParam()
        param.name = name
        param.kind = .intRange(range)
        return param
    }

    private static func float(_ name: String, _ low: Double, _ high: Double, log: Bool = false) -> SweepParam {
        var range = SweepParam.FloatRange()
        range.low = low
        range.high = high
        range.log = log
        var param = SweepParam()
        param.name = name
        param.kind = .floatRange(range)
        return param
    }

    private static func choice(_ name: String, _ values: [ParamValue.Kind]) -> SweepParam {
        var categorical = SweepParam.Categorical()
        categorical.values = values.map { kind in
            var value = ParamValue()
            value.kind = kind
            return value
        }
        var param = SweepParam()
        param.name = name
        param.kind = .categorical(categorical)
        return param
    }
}
