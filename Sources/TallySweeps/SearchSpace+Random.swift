extension SearchSpace {
    /// A point drawn at random, every parameter independently, with the fixed parameters.
    func randomPoint(using random: inout SweepRandom) -> Params {
        var params = Params()
        for parameter in parameters {
            params[parameter.name] = parameter.domain.randomValue(using: &random)
        }
        return withFixed(params)
    }
}
