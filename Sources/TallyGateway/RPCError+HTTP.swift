public import TallyProto
public import TallyRPC

extension RPCError.Code {
    /// The HTTP status the gateway answers for a call that ended with this code (the mapping of
    /// grpc-gateway, but FAILED_PRECONDITION is 400 rather than 412 and CANCELLED is 499).
    public var httpStatus: Int {
        switch self {
        case .ok: 200
        case .cancelled: 499
        case .invalidArgument, .failedPrecondition, .outOfRange: 400
        case .unauthenticated: 401
        case .permissionDenied: 403
        case .notFound: 404
        case .alreadyExists, .aborted: 409
        case .resourceExhausted: 429
        case .unimplemented: 501
        case .unavailable: 503
        case .deadlineExceeded: 504
        default: 500
        }
    }
}

extension RPCError {
    /// The status as the gateway writes it: `{"code": 3, "codeName": "INVALID_ARGUMENT",
    /// "message": "…", "details": {…}}`, details being the `tally.v1.ErrorDetails` the call
    /// carried, in proto3 JSON.
    public var gatewayJSON: JSONValue {
        var members: [String: JSONValue] = [
            "code": .integer(Int64(code.rawValue)),
            "codeName": .string(code.name),
            "message": .string(message),
        ]
        if !details.isEmpty, let decoded = try? ErrorDetails(serializedBytes: details) {
            members["details"] = decoded.protoJSON
        }
        return .object(members)
    }

    /// The OK status in the same form, the end of a stream that succeeded.
    public static var okJSON: JSONValue {
        .object(["code": .integer(0), "codeName": .string("OK"), "message": .string("")])
    }
}
