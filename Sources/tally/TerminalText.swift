extension String {
    /// The text with its control characters shown as escapes: newline as `\n`, carriage return
    /// `\r`, tab `\t`, other C0 and C1 controls and DEL as `\xHH` (ESC as `\x1b`, BEL as `\x07`),
    /// bidirectional overrides as `\u{202E}`.
    ///
    /// Names, tags, errors and other values come from the store, where any client may have put
    /// them (and older stores hold what was never refused). Printed raw, an ESC or BEL in a name
    /// could move the cursor, rewrite earlier lines, retitle the terminal or ring its bell, and a
    /// newline could forge a line of output. Every value the CLI prints as text or in a table
    /// goes through this; `--json` output escapes control characters as JSON does.
    var terminalSafe: String {
        guard unicodeScalars.contains(where: Self.isUnsafe) else { return self }
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            guard Self.isUnsafe(scalar) else {
                out.append(scalar)
                continue
            }
            let escape: String
            switch scalar {
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                escape = scalar.value < 0x100
                    ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                    : "\\u{" + hex.uppercased() + "}"
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }

    /// C0 controls, DEL, C1 controls, and the bidirectional embeddings, overrides and isolates.
    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }
}
