import Foundation
import Logging
public import TallyProto
public import TallyRPC
import TallyStore

extension SystemProvider {
    /// Longest lifetime a token may be given: 10 years.
    static let maxTokenLifetimeSeconds: UInt64 = 10 * 366 * 86_400

    public func createToken(request: CreateTokenRequest, context: ServerContext) async throws -> CreateTokenResponse {
        let name = request.name
        guard (1...64).contains(name.utf8.count), name.utf8.allSatisfy(Self.isTokenNameByte) else {
            throw RPCError(code: .invalidArgument, message: "a token's name is 1 to 64 letters, digits, '.', '_', '-' or '@'; got \"\(name)\"")
        }
        guard let role = Role(name: request.role) else {
            throw RPCError(code: .invalidArgument, message: "role must be viewer, member or admin; got \"\(request.role)\"")
        }
        guard request.expiresInS <= Self.maxTokenLifetimeSeconds else {
            throw RPCError(code: .invalidArgument, message: "expires_in_s is at most \(Self.maxTokenLifetimeSeconds) (10 years); got \(request.expiresInS)")
        }
        let now = Identifiers.nowMs()
        // At most 10 years in milliseconds: far from overflowing an Int64 added to now.
        let expiresAt = request.expiresInS == 0 ? 0 : now + Int64(request.expiresInS) * 1000
        let made = TokenBook.make()
        let record = AccessTokenRecord(
            name: name, role: role.name, id: made.id, secretHash: made.secretHash,
            createdAtMs: now, expiresAtMs: expiresAt, createdBy: context.caller.userName
        )
        let stored = try await mapStoreErrors { try await store.createAccessToken(record) }
        try await reloadTokens(context)
        context.logger.notice("access token created", metadata: ["token": "\(name)", "role": "\(role)", "by": "\(context.caller.identity)"])
        var response = CreateTokenResponse()
        response.token = AccessToken(stored)
        response.secret = made.text
        return response
    }

    public func listTokens(request: ListTokensRequest, context: ServerContext) async throws -> ListTokensResponse {
        var response = ListTokensResponse()
        response.tokens = try await mapStoreErrors { try await store.accessTokens() }.map(AccessToken.init)
        return response
    }

    public func revokeToken(request: RevokeTokenRequest, context: ServerContext) async throws -> RevokeTokenResponse {
        let removed = try await mapStoreErrors { try await store.revokeAccessToken(name: request.name) }
        try await reloadTokens(context)
        context.logger.notice("access token revoked", metadata: ["token": "\(removed.name)", "by": "\(context.caller.identity)"])
        var response = RevokeTokenResponse()
        response.token = AccessToken(removed)
        return response
    }

    private func reloadTokens(_ context: ServerContext) async throws {
        tokens.announceChange()
        do {
            try await tokens.reload()
        } catch {
            context.logger.error("cannot reload the access tokens", metadata: ["error": "\(error)"])
            throw RPCError(code: .internalError, message: "the token was changed, but this daemon could not reload the tokens; it will retry", cause: error)
        }
    }

    private static func isTokenNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "@"):
            true
        default:
            false
        }
    }
}

extension AccessToken {
    init(_ record: AccessTokenRecord) {
        self.init()
        name = record.name
        role = record.role
        id = record.id
        createdAtMs = record.createdAtMs
        expiresAtMs = record.expiresAtMs
        createdBy = record.createdBy
    }
}
