/// A plain-text table: a header row and aligned columns separated by two spaces.
struct Table {
    enum Alignment {
        case left, right
    }

    var headers: [String]
    var alignments: [Alignment]
    var rows: [[String]] = []
    /// Colours of cells by row and column (``Style``); a `STATUS` column is coloured by its words.
    var styles: [[Int: Style]] = []

    /// A table; columns whose header is in `numeric` are right-aligned.
    init(_ headers: [String], numeric: Set<String> = []) {
        self.headers = headers
        self.alignments = headers.map { numeric.contains($0) ? .right : .left }
    }

    mutating func add(_ row: [String], styles: [Int: Style] = [:]) {
        rows.append(row)
        self.styles.append(styles)
    }

    /// The table's lines, without trailing spaces; `indent` is prepended to each. Control
    /// characters in cells are shown escaped (``Swift/String/terminalSafe``).
    func render(indent: String = "") -> String {
        let all = ([headers] + rows).map { $0.map(\.terminalSafe) }
        var widths = [Int](repeating: 0, count: headers.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], displayWidth(cell))
            }
        }
        var lines: [String] = []
        let statusColumn = headers.firstIndex(of: "STATUS")
        for (r, row) in all.enumerated() {
            var line = ""
            for i in 0..<headers.count {
                let cell = i < row.count ? row[i] : ""
                let pad = String(repeating: " ", count: widths[i] - displayWidth(cell))
                if i > 0 { line += "  " }
                // Coloured after measuring: the escape sequences take no columns.
                var style = r > 0 && r - 1 < styles.count ? styles[r - 1][i] : nil
                if style == nil, r > 0, i == statusColumn { style = Style.status(cell) }
                let shown = style?.apply(cell) ?? cell
                line += alignments[i] == .right ? pad + shown : shown + pad
            }
            while line.hasSuffix(" ") { line.removeLast() }
            lines.append(indent + line)
        }
        return lines.joined(separator: "\n")
    }

    func print(indent: String = "") {
        Swift.print(render(indent: indent))
    }
}

/// Terminal columns a string takes: one per character, two for wide East Asian characters
/// and emoji (close enough for aligning tables).
func displayWidth(_ text: String) -> Int {
    var width = 0
    for character in text {
        guard let scalar = character.unicodeScalars.first else { continue }
        let v = scalar.value
        let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1FAFF).contains(v) || (0x20000...0x3FFFD).contains(v)
        width += wide ? 2 : 1
    }
    return width
}

/// "key  value" lines with the keys padded to one width; control characters shown escaped.
func printFields(_ fields: [(String, String)], indent: String = "") {
    let fields = fields.map { ($0.0.terminalSafe, $0.1.terminalSafe) }
    let width = fields.map { displayWidth($0.0) }.max() ?? 0
    for (key, value) in fields {
        let pad = String(repeating: " ", count: width - displayWidth(key))
        let shown = key == "status" ? Style.statusWord(value) : value
        print((indent + key + pad + "  " + shown).trimmingTrailingSpaces())
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
