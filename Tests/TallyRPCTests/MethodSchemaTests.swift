import Testing
import TallyAPI
import TallyProto
import TallyRPC

@Suite("method schemas")
struct MethodSchemaTests {
    @Test("TrackingService.schemas lists ListRuns with its request and response types")
    func listRuns() throws {
        let schema = try #require(TrackingService.schemas.first { $0.descriptor.method == "ListRuns" })
        #expect(schema.descriptor == TrackingService.Method.listRuns)
        #expect(ObjectIdentifier(schema.requestType) == ObjectIdentifier(ListRunsRequest.self))
        #expect(ObjectIdentifier(schema.responseType) == ObjectIdentifier(ListRunsResponse.self))
        #expect(schema.requestType.protoMessageName == "tally.v1.ListRunsRequest")
        #expect(schema.responseType.protoMessageName == "tally.v1.ListRunsResponse")
        let request = try schema.requestType.init(jsonString: #"{"experiment_ids": ["e1"], "pageSize": 5}"#)
        let typed = try #require(request as? ListRunsRequest)
        #expect(typed.experimentIds == ["e1"] && typed.pageSize == 5)
        let plain: any ProtoMessage.Type = schema.requestType
        #expect(ObjectIdentifier(plain) == ObjectIdentifier(ListRunsRequest.self))
    }

    @Test("every service lists a schema for every method, in the order of Method.all")
    func everyMethod() {
        for (schemas, all) in [
            (TrackingService.schemas, TrackingService.Method.all),
            (ExperimentsService.schemas, ExperimentsService.Method.all),
            (SystemService.schemas, SystemService.Method.all),
            (DiagnosticsService.schemas, DiagnosticsService.Method.all),
        ] {
            #expect(schemas.map(\.descriptor) == all)
        }
    }
}
