/// Page tokens: an opaque encoding of the offset of the next page.
///
/// Offsets keep pagination simple for any ordering; a record inserted while a client pages
/// through may shift later pages by one.
public enum PageToken {
    /// Default page size.
    public static let defaultSize = 50
    /// Largest page size.
    public static let maximumSize = 1000

    /// The page size to use for a requested size (0 means the default).
    public static func size(_ requested: Int) throws -> Int {
        if requested == 0 { return defaultSize }
        guard requested > 0, requested <= maximumSize else {
            throw StoreError(code: .invalidArgument, message: "page_size must be between 1 and \(maximumSize), got \(requested)", field: "page_size")
        }
        return requested
    }

    /// The offset a token stands for (0 for an empty token).
    public static func offset(_ token: String) throws -> Int {
        if token.isEmpty { return 0 }
        guard token.hasPrefix("o"), let offset = Int(token.dropFirst()), offset >= 0 else {
            throw StoreError(code: .invalidArgument, message: "page_token \"\(token)\" is not a token this daemon issued", field: "page_token")
        }
        return offset
    }

    /// The token of the page after one that started at `offset` and held `count` of `total`.
    public static func next(offset: Int, count: Int, total: Int64) -> String {
        // The offset came from a client's token: checked, so that a forged one near Int.max ends
        // the listing rather than overflowing.
        let (next, overflow) = offset.addingReportingOverflow(count)
        return !overflow && Int64(next) < total ? "o\(next)" : ""
    }
}
