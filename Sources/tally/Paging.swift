import TallyProto

/// A list response the CLI pages through: items, the next page's token, the total.
protocol PagedResponse: Sendable {
    associatedtype Item
    init()
    var pageItems: [Item] { get set }
    var nextPageToken: String { get set }
    var totalCount: UInt64 { get set }
}

/// Fetches pages until `want` items or the last page, as one response.
/// - Parameters:
///   - want: How many items at most (`Int.max` for all).
///   - fetch: Fetches one page of the given size from the given token.
func collectPages<Response: PagedResponse>(
    want: Int,
    _ fetch: (_ pageSize: UInt32, _ token: String) async throws -> Response
) async throws -> Response {
    var collected = Response()
    var token = ""
    repeat {
        let page = try await fetch(UInt32(min(want - collected.pageItems.count, 1000)), token)
        collected.pageItems += page.pageItems
        collected.totalCount = page.totalCount
        collected.nextPageToken = page.nextPageToken
        token = page.nextPageToken
    } while !token.isEmpty && collected.pageItems.count < want
    return collected
}

extension ListExperimentsResponse: PagedResponse {
    var pageItems: [Experiment] { get { experiments } set { experiments = newValue } }
}

extension ListRunsResponse: PagedResponse {
    var pageItems: [Run] { get { runs } set { runs = newValue } }
}

extension ListDatasetsResponse: PagedResponse {
    var pageItems: [Dataset] { get { datasets } set { datasets = newValue } }
}

extension ListJobsResponse: PagedResponse {
    var pageItems: [Job] { get { jobs } set { jobs = newValue } }
}

extension ListJobItemsResponse: PagedResponse {
    var pageItems: [ItemResult] { get { items } set { items = newValue } }
}
