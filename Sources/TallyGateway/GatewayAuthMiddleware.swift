import Foundation
import HTTPTypes
import Hummingbird
import TallyProto

/// Lets a request through only with the dashboard's token: in the `tally_token` cookie, or as
/// `Authorization: Bearer …`. A GET whose query has `token=` (the URL `tally ui` prints) sets the
/// cookie and is redirected to the same URL without it, so the token does not stay in the
/// address bar or the history. Anything else is 401 with no data.
struct GatewayAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    static var cookieName: String { "tally_token" }

    let token: DashboardToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .get, let offered = request.uri.queryParameters.get("token") {
            guard token.matches(offered) else { return Self.unauthorized(request) }
            var response = Response(status: .seeOther, headers: [.location: Self.location(removingTokenFrom: request)])
            response.headers[.setCookie] = "\(Self.cookieName)=\(token.value); Path=/; HttpOnly; SameSite=Strict"
            response.headers[.cacheControl] = "no-store"
            return response
        }
        if let cookie = request.cookies[Self.cookieName], token.matches(cookie.value) {
            return try await next(request, context)
        }
        if let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
           token.matches(authorization.dropFirst("Bearer ".count)) {
            return try await next(request, context)
        }
        return Self.unauthorized(request)
    }

    /// The path and the query without `token`.
    static func location(removingTokenFrom request: Request) -> String {
        var components = URLComponents()
        components.percentEncodedQuery = request.uri.query
        let kept = (components.queryItems ?? []).filter { $0.name != "token" }
        components.queryItems = kept.isEmpty ? nil : kept
        let query = components.percentEncodedQuery.map { "?" + $0 } ?? ""
        let path = request.uri.path.isEmpty ? "/" : request.uri.path
        return path + query
    }

    static func unauthorized(_ request: Request) -> Response {
        let status = JSONValue.object([
            "code": .integer(16),
            "codeName": .string("UNAUTHENTICATED"),
            "message": .string("the dashboard needs its token: open the URL that `tally ui` prints"),
        ])
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        headers[.wwwAuthenticate] = "Bearer realm=\"tally\""
        return Response(status: .unauthorized, headers: headers, body: .init(byteBuffer: ByteBuffer(string: status.serialized(pretty: false))))
    }
}
