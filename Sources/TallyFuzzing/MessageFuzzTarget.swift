import TallyAPI
public import TallyProto
public import TallyRPC

/// Fuzz target of the generated message decoders, wire validation included.
///
/// Input: `type id (2, big-endian) | protobuf bytes`. The id picks one message type: every
/// request type of every service method, and every message of the frame layer (HELLO, START,
/// END, GOAWAY payloads). Ids are ``typeID(_:)`` of the full message name, so a corpus stays
/// meaningful when types are added; an id that names no type picks `id % count`. What must hold:
/// - decoding never crashes (rejecting the bytes with a `ProtoError` is fine);
/// - decoding from an array and in place agree;
/// - a decoded message re-encodes without error, decodes again to an equal message (when it
///   holds a NaN, which is not equal to itself, to one with the same JSON), and that second
///   encoding is byte-identical to the first;
/// - its JSON form can be written.
public enum MessageFuzzTarget {
    /// Every method of every service with its request type. `TallyFuzzTests` checks this covers
    /// every method descriptor of TallyAPI.
    public static let methods: [(method: MethodDescriptor, request: any ProtoMessage.Type)] = [
        (ExperimentsService.Method.createDataset, CreateDatasetRequest.self),
        (ExperimentsService.Method.getDataset, GetDatasetRequest.self),
        (ExperimentsService.Method.listDatasets, ListDatasetsRequest.self),
        (ExperimentsService.Method.updateDatasetLabels, UpdateDatasetLabelsRequest.self),
        (ExperimentsService.Method.deleteDataset, DeleteDatasetRequest.self),
        (ExperimentsService.Method.createProvider, CreateProviderRequest.self),
        (ExperimentsService.Method.updateProvider, UpdateProviderRequest.self),
        (ExperimentsService.Method.listProviders, ListProvidersRequest.self),
        (ExperimentsService.Method.deleteProvider, DeleteProviderRequest.self),
        (ExperimentsService.Method.createJob, CreateJobRequest.self),
        (ExperimentsService.Method.getJob, GetJobRequest.self),
        (ExperimentsService.Method.listJobs, ListJobsRequest.self),
        (ExperimentsService.Method.cancelJob, CancelJobRequest.self),
        (ExperimentsService.Method.deleteJob, DeleteJobRequest.self),
        (ExperimentsService.Method.listJobItems, ListJobItemsRequest.self),
        (ExperimentsService.Method.watchJob, WatchJobRequest.self),
        (ExperimentsService.Method.watchJobs, WatchJobsRequest.self),
        (ExperimentsService.Method.nextTrial, NextTrialRequest.self),
        (ExperimentsService.Method.reportTrial, ReportTrialRequest.self),
        (ExperimentsService.Method.heartbeat, HeartbeatRequest.self),
        (ExperimentsService.Method.crossValidate, CrossValidateRequest.self),
        (SystemService.Method.info, InfoRequest.self),
        (SystemService.Method.ping, PingRequest.self),
        (SystemService.Method.createToken, CreateTokenRequest.self),
        (SystemService.Method.listTokens, ListTokensRequest.self),
        (SystemService.Method.revokeToken, RevokeTokenRequest.self),
        (DiagnosticsService.Method.echo, EchoRequest.self),
        (DiagnosticsService.Method.echoStream, EchoRequest.self),
        (DiagnosticsService.Method.echoCollect, EchoRequest.self),
        (DiagnosticsService.Method.echoBidi, EchoRequest.self),
        (TrackingService.Method.createExperiment, CreateExperimentRequest.self),
        (TrackingService.Method.getExperiment, GetExperimentRequest.self),
        (TrackingService.Method.updateExperiment, UpdateExperimentRequest.self),
        (TrackingService.Method.deleteExperiment, DeleteExperimentRequest.self),
        (TrackingService.Method.listExperiments, ListExperimentsRequest.self),
        (TrackingService.Method.startRun, StartRunRequest.self),
        (TrackingService.Method.endRun, EndRunRequest.self),
        (TrackingService.Method.resumeRun, ResumeRunRequest.self),
        (TrackingService.Method.getRun, GetRunRequest.self),
        (TrackingService.Method.deleteRun, DeleteRunRequest.self),
        (TrackingService.Method.setRunTags, SetRunTagsRequest.self),
        (TrackingService.Method.setRunNote, SetRunNoteRequest.self),
        (TrackingService.Method.listRuns, ListRunsRequest.self),
        (TrackingService.Method.searchRuns, SearchRunsRequest.self),
        (TrackingService.Method.logParams, LogParamsRequest.self),
        (TrackingService.Method.logMetrics, MetricBatch.self),
        (TrackingService.Method.streamMetrics, MetricBatch.self),
        (TrackingService.Method.writeRun, RunWrite.self),
        (TrackingService.Method.getMetricHistory, GetMetricHistoryRequest.self),
        (TrackingService.Method.watchRun, WatchRunRequest.self),
        (TrackingService.Method.uploadArtifact, UploadArtifactRequest.self),
        (TrackingService.Method.downloadArtifact, DownloadArtifactRequest.self),
        (TrackingService.Method.listArtifacts, ListArtifactsRequest.self),
        (TrackingService.Method.setArtifactAlias, SetArtifactAliasRequest.self),
        (TrackingService.Method.deleteArtifact, DeleteArtifactRequest.self),
        (TrackingService.Method.compareRuns, CompareRunsRequest.self),
    ]

    /// Payloads of the frame layer, decoded by the server (Hello, CallStart) or the client.
    public static let frameMessages: [any ProtoMessage.Type] = [
        Hello.self, HelloReply.self, CallStart.self, CallEnd.self, ErrorDetails.self, GoAway.self,
    ]

    /// The distinct message types fuzzed, sorted by full name.
    public static let types: [any ProtoMessage.Type] = {
        var seen: Set<String> = []
        var result: [any ProtoMessage.Type] = []
        for type in methods.map(\.request) + frameMessages where seen.insert(type.protoMessageName).inserted {
            result.append(type)
        }
        return result.sorted { $0.protoMessageName < $1.protoMessageName }
    }()

    /// Index in ``types`` by type id.
    static let indexByID: [UInt16: Int] = {
        var index: [UInt16: Int] = [:]
        for (i, type) in types.enumerated() {
            let id = typeID(type.protoMessageName)
            guard index[id] == nil else { fuzzFailure("two message types with the type id \(id)") }
            index[id] = i
        }
        return index
    }()

    /// The 2-byte id of a message type in fuzz inputs: FNV-1a (32 bits) of its full name,
    /// folded to 16 bits. scripts/make-fuzz-corpus computes the same.
    public static func typeID(_ fullName: String) -> UInt16 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in fullName.utf8 {
            hash = (hash ^ UInt32(byte)) &* 0x0100_0193
        }
        return UInt16(truncatingIfNeeded: hash >> 16) ^ UInt16(truncatingIfNeeded: hash)
    }

    /// The type an input starting with `id` decodes as.
    public static func type(forID id: UInt16) -> any ProtoMessage.Type {
        types[indexByID[id] ?? Int(id) % types.count]
    }

    public static func run(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return }
        let type = type(forID: UInt16(data[0]) << 8 | UInt16(data[1]))
        roundTrip(type, UnsafeRawBufferPointer(rebasing: data[2...]))
    }

    static func roundTrip<M: ProtoMessage>(_: M.Type, _ bytes: UnsafeRawBufferPointer) {
        let message: M
        do {
            message = try M(serializedBytes: bytes)
        } catch {
            return
        }
        let name = M.protoMessageName
        // The array decoder must agree with the in-place one.
        guard let fromArray = try? M(serializedBytes: Array(bytes)), same(fromArray, message) else {
            fuzzFailure("\(name): decoding from an array differs from decoding in place")
        }
        let first: [UInt8]
        do {
            first = try message.serializedBytes()
        } catch {
            fuzzFailure("\(name): a decoded message does not re-encode: \(error)")
        }
        let again: M
        do {
            again = try M(serializedBytes: first)
        } catch {
            fuzzFailure("\(name): its own encoding does not decode: \(error)")
        }
        let second: [UInt8]
        do {
            second = try again.serializedBytes()
        } catch {
            fuzzFailure("\(name): the re-decoded message does not re-encode: \(error)")
        }
        guard first == second else {
            fuzzFailure("\(name): encoding is not stable (\(first.count) then \(second.count) bytes)")
        }
        guard same(again, message) else {
            fuzzFailure("\(name): decode(encode(m)) != m")
        }
        _ = message.jsonString(pretty: false)
    }

    /// Equal messages, or messages that differ only by holding NaNs (a NaN is not equal to
    /// itself): then their JSON, which writes NaN as "NaN", must be the same. (`m != m` does not
    /// tell: arrays sharing storage compare equal without looking at their elements.)
    static func same<M: ProtoMessage>(_ a: M, _ b: M) -> Bool {
        a == b || a.jsonString(pretty: false) == b.jsonString(pretty: false)
    }
}
