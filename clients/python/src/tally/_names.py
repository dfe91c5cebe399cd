"""Readable names of runs started without one ("brisk-sunset-412"), made from the run's id as the
daemon makes them (Sources/TallyStore/RunNames.swift): the client names its run at once, and the
name is the same whichever side makes it."""

_ADJECTIVES = (
    "amber", "ancient", "autumn", "bold", "brave", "breezy", "bright", "brisk", "calm", "clever",
    "cosmic", "crisp", "curious", "daring", "dawn", "deep", "dusty", "eager", "early", "electric",
    "fancy", "fearless", "fiery", "fresh", "gentle", "gilded", "glad", "golden", "grand", "happy",
    "hidden", "humble", "icy", "jolly", "keen", "kind", "lively", "lucky", "lunar", "merry",
    "misty", "noble", "polar", "proud", "quiet", "rapid", "rare", "royal", "rustic", "scarlet",
    "silent", "silver", "snowy", "solar", "steady", "stellar", "stormy", "sunny", "swift", "tidy",
    "vivid", "warm", "wild", "wise",
)
_NOUNS = (
    "aurora", "bay", "breeze", "brook", "canyon", "cedar", "cloud", "comet", "cosmos", "creek",
    "dawn", "delta", "dune", "eclipse", "ember", "falcon", "fern", "field", "fire", "forest",
    "frost", "galaxy", "glacier", "grove", "harbor", "haze", "hill", "horizon", "island", "lake",
    "leaf", "meadow", "mesa", "meteor", "moon", "moss", "mountain", "nebula", "oasis", "ocean",
    "orbit", "peak", "pine", "planet", "pond", "prairie", "rain", "reef", "ridge", "river",
    "sea", "shadow", "sky", "snow", "star", "storm", "sun", "sunset", "thunder", "tide",
    "valley", "wave", "wind", "wood",
)


def run_name(run_id: str) -> str:
    """The generated name of run `run_id` (FNV-1a of its id picks two words and a number)."""
    h = 0xCBF29CE484222325
    for byte in run_id.encode():
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{_ADJECTIVES[h % 64]}-{_NOUNS[(h // 64) % 64]}-{(h // 4096) % 1000}"
