import Foundation
import Synchronization

/// Colours of the CLI's text output: statuses, and the best and worst values of a comparison.
///
/// Colour is used only when standard output is a terminal, `NO_COLOR` is unset or empty
/// (no-color.org), `TERM` is not `dumb`, and the command was not given `--no-color`. Colour is
/// applied after a cell's control characters are escaped (``Swift/String/terminalSafe``) and its
/// width is measured, so tables stay aligned.
enum Style: String {
    case green = "32"
    case red = "31"
    case yellow = "33"
    case cyan = "36"

    /// Set by `--no-color`.
    static let turnedOff = Atomic<Bool>(false)

    /// What the environment allows, read once.
    private static let environmentAllows: Bool = {
        let environment = ProcessInfo.processInfo.environment
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
        if environment["TERM"] == "dumb" { return false }
        return isatty(STDOUT_FILENO) == 1
    }()

    /// Whether text is coloured now.
    static var enabled: Bool { environmentAllows && !turnedOff.load(ordering: .relaxed) }

    /// `text` in this colour, when colour is enabled.
    func apply(_ text: String) -> String {
        Style.enabled && !text.isEmpty ? "\u{1B}[\(rawValue)m" + text + "\u{1B}[0m" : text
    }

    /// The colour of a run, job or trial status word: completed green; failed red; crashed,
    /// killed, cancelled and pruned yellow; running and pending cyan.
    static func status(_ word: String) -> Style? {
        switch word {
        case "completed": .green
        case "failed": .red
        case "crashed", "killed", "cancelled", "pruned": .yellow
        case "running", "pending": .cyan
        default: nil
        }
    }

    /// `word` coloured as a status.
    static func statusWord(_ word: String) -> String {
        status(word)?.apply(word) ?? word
    }

    /// `line` shown safely (``Swift/String/terminalSafe``), its first ` <status>` coloured.
    static func line(_ line: String, status: String?) -> String {
        var shown = line.terminalSafe
        if let status, let range = shown.range(of: " \(status)") {
            shown.replaceSubrange(range, with: " " + statusWord(status))
        }
        return shown
    }
}
