/// Readable names for runs started without one: "brisk-sunset-412", made from the run's id, so
/// the same id always gets the same name (a start delivered twice names its run once).
///
/// Two words and a number give 64 · 64 · 1,000 names: two runs of one experiment rarely share
/// one, and when they do, `EXPERIMENT/RUN_NAME` lists both (docs/tracking.md).
package enum RunNames {
    static let adjectives = [
        "amber", "ancient", "autumn", "bold", "brave", "breezy", "bright", "brisk", "calm", "clever",
        "cosmic", "crisp", "curious", "daring", "dawn", "deep", "dusty", "eager", "early", "electric",
        "fancy", "fearless", "fiery", "fresh", "gentle", "gilded", "glad", "golden", "grand", "happy",
        "hidden", "humble", "icy", "jolly", "keen", "kind", "lively", "lucky", "lunar", "merry",
        "misty", "noble", "polar", "proud", "quiet", "rapid", "rare", "royal", "rustic", "scarlet",
        "silent", "silver", "snowy", "solar", "steady", "stellar", "stormy", "sunny", "swift", "tidy",
        "vivid", "warm", "wild", "wise",
    ]
    static let nouns = [
        "aurora", "bay", "breeze", "brook", "canyon", "cedar", "cloud", "comet", "cosmos", "creek",
        "dawn", "delta", "dune", "eclipse", "ember", "falcon", "fern", "field", "fire", "forest",
        "frost", "galaxy", "glacier", "grove", "harbor", "haze", "hill", "horizon", "island", "lake",
        "leaf", "meadow", "mesa", "meteor", "moon", "moss", "mountain", "nebula", "oasis", "ocean",
        "orbit", "peak", "pine", "planet", "pond", "prairie", "rain", "reef", "ridge", "river",
        "sea", "shadow", "sky", "snow", "star", "storm", "sun", "sunset", "thunder", "tide",
        "valley", "wave", "wind", "wood",
    ]

    /// The name of the run `id`.
    package static func make(id: String) -> String {
        // FNV-1a: the same on every platform and run, unlike Swift's seeded `Hasher`.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let adjective = adjectives[Int(hash % UInt64(adjectives.count))]
        let noun = nouns[Int((hash / 64) % UInt64(nouns.count))]
        return "\(adjective)-\(noun)-\((hash / 4096) % 1000)"
    }
}
