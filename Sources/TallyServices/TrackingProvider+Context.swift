import Logging
import TallyRPC

extension TrackingProvider {
    /// A context for calling one of the provider's own methods from another.
    static func internalContext(_ logger: Logger) -> ServerContext {
        ServerContext(
            method: MethodDescriptor(service: "tally.v1.Tracking", method: "Internal", kind: .unary),
            callID: 0,
            connectionID: 0,
            logger: logger
        )
    }
}
