import TallyProto
import TallyRPC
import TallyStore

extension StoreError {
    /// The status a client sees for this store error; details carry the field and position.
    var rpcError: RPCError {
        let status: RPCError.Code = switch code {
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .invalidArgument: .invalidArgument
        case .dataLoss: .dataLoss
        case .resourceExhausted: .resourceExhausted
        case .unavailable: .unavailable
        default: .internalError
        }
        var details = ErrorDetails()
        details.field = field ?? ""
        details.position = Int64(position ?? -1)
        details.reason = code.rawValue
        return RPCError(
            code: status,
            message: status == .internalError ? "internal error" : message,
            details: (try? details.serializedBytes()) ?? [],
            cause: self
        )
    }
}

/// Runs `body`, turning store errors into the statuses clients see.
func mapStoreErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as StoreError {
        throw error.rpcError
    } catch {
        if let storeError = StoreError.fromSQLite(error) { throw storeError.rpcError }
        throw error
    }
}
