/// Draws the evaluation sample from a dataset, deterministically for a seed.
///
/// The generator is ``SplitMix64`` seeded with `seed`, never the system generator, so the same
/// dataset, size, method and seed give the same sample everywhere. The sample keeps the dataset's
/// order.
public enum Sampler {
    /// Returns `size` items of `items` (clamped to `0...items.count`).
    ///
    /// - `random`: a uniform subset: a Fisher–Yates shuffle of the indices, first `size` taken.
    /// - `stratified`: label `l` with `n_l` of the `N` items gets the quota `size·n_l/N`, rounded
    ///   down, and the items left over go one each to the labels with the largest remainders
    ///   (largest-remainder method; ties to the larger label, then the smaller label id). When
    ///   `size` is at least the number of labels, a label with quota 0 gets 1, taken from the label
    ///   with the largest quota. Each label's items are then drawn uniformly.
    public static func sample(_ items: [EvaluationItem], size: Int, method: Sampling, seed: UInt64) -> [EvaluationItem] {
        let size = max(0, min(size, items.count))
        if size == items.count { return items }
        if size == 0 { return [] }
        var generator = SplitMix64(seed: seed)
        var chosen: [Int]
        switch method {
        case .random:
            var indices = Array(items.indices)
            generator.shuffle(&indices)
            chosen = Array(indices.prefix(size))
        case .stratified:
            var groups: [String: [Int]] = [:]
            for (index, item) in items.enumerated() { groups[item.label, default: []].append(index) }
            let counts = groups.mapValues(\.count)
            let quotas = stratifiedQuotas(counts: counts, size: size)
            chosen = []
            for label in groups.keys.sorted() {
                var indices = groups[label]!
                generator.shuffle(&indices)
                chosen += indices.prefix(quotas[label] ?? 0)
            }
        }
        chosen.sort()
        return chosen.map { items[$0] }
    }

    /// Per-label quotas summing to `size` (see ``sample(_:size:method:seed:)``). `size` must be in
    /// `0...counts.values.sum()`.
    static func stratifiedQuotas(counts: [String: Int], size: Int) -> [String: Int] {
        let total = counts.values.reduce(0, +)
        guard total > 0 else { return [:] }
        var quotas: [String: Int] = [:]
        var remainders: [(label: String, remainder: Int, count: Int)] = []
        for (label, count) in counts {
            let exact = size * count
            quotas[label] = exact / total
            remainders.append((label, exact % total, count))
        }
        var left = size - quotas.values.reduce(0, +)
        remainders.sort {
            ($0.remainder, $0.count, $1.label) > ($1.remainder, $1.count, $0.label)
        }
        for entry in remainders where left > 0 && entry.remainder > 0 {
            quotas[entry.label]! += 1
            left -= 1
        }
        if size >= counts.count {
            for label in counts.keys.sorted() where quotas[label] == 0 {
                // Take one from the label with the largest quota (ties: the smaller label id).
                let donor = quotas.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
                guard quotas[donor]! > 1 else { break }
                quotas[donor]! -= 1
                quotas[label] = 1
            }
        }
        return quotas
    }
}
