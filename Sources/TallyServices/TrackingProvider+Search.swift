import Foundation
import TallyAPI
public import TallyProto
public import TallyRPC
import TallyStore

extension TrackingProvider {
    /// Searches runs with a filter expression (docs/filter.md), ordered and paginated.
    /// A malformed filter or order term is INVALID_ARGUMENT with `ErrorDetails.position` set.
    public func searchRuns(request: SearchRunsRequest, context: ServerContext) async throws -> ListRunsResponse {
        try await mapStoreErrors {
            let page = try await store.searchRuns(
                experimentIDs: request.experimentIds,
                filter: request.filter,
                orderBy: request.orderBy,
                pageSize: Int(request.pageSize),
                pageToken: request.pageToken
            )
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            var response = ListRunsResponse()
            response.runs = page.items.map { Run($0, nowMs: nowMs) }
            response.nextPageToken = page.nextPageToken
            response.totalCount = UInt64(page.totalCount)
            return response
        }
    }
}
