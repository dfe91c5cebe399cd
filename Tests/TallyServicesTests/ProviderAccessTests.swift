import Foundation
import Logging
import TallyAPI
import TallyProto
import TallyRPC
@testable import TallyServices
import Testing

/// With `--allow-group`, peers of another uid are served: they must not manage providers (which
/// hold API keys and the commands the daemon runs) nor run a command as the daemon's user.
@Suite("Provider access")
struct ProviderAccessTests {
    static let owner = Caller(uid: 1000, gid: 1000, pid: 10, isDaemonUser: true)
    static let member = Caller(uid: 1001, gid: 1000, pid: 11, isDaemonUser: false)

    func context(_ caller: Caller, _ method: String) -> ServerContext {
        ServerContext(
            method: MethodDescriptor(service: "tally.v1.Experiments", method: method, kind: .unary),
            callID: 1,
            connectionID: 1,
            logger: Logger(label: "test"),
            caller: caller
        )
    }

    func denied(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            return RPCError(code: .unknown, message: "\(error)")
        }
    }

    @Test("a caller that is not the daemon's user gets PERMISSION_DENIED to create, update and delete providers; the owner succeeds")
    func providersAreTheOwners() async throws {
        let h = try await JobHarness(executor: nil)
        defer { Task { await h.close() } }
        let p = h.provider
        var create = CreateProviderRequest()
        create.name = "local"
        create.kind = .command
        create.command = ["/bin/sh", "-c", "id > /tmp/pwned"]
        let refused = await denied { _ = try await p.createProvider(request: create, context: context(Self.member, "CreateProvider")) }
        #expect(refused?.code == .permissionDenied)
        #expect(refused?.message.contains("uid 1001") == true)
        #expect(try await p.listProviders(request: ListProvidersRequest(), context: context(Self.member, "ListProviders")).providers.isEmpty)

        var http = CreateProviderRequest()
        http.name = "openai"
        http.kind = .openai
        http.baseUrl = "https://api.example.com/v1"
        http.apiKey = "sk-owner"
        _ = try await p.createProvider(request: http, context: context(Self.owner, "CreateProvider"))

        // Pointing the owner's provider at the member's own server would hand it the stored key.
        var update = UpdateProviderRequest()
        update.provider = "openai"
        update.baseUrl = "http://127.0.0.1:9/v1"
        #expect(await denied { _ = try await p.updateProvider(request: update, context: context(Self.member, "UpdateProvider")) }?.code == .permissionDenied)
        var delete = DeleteProviderRequest()
        delete.provider = "openai"
        #expect(await denied { _ = try await p.deleteProvider(request: delete, context: context(Self.member, "DeleteProvider")) }?.code == .permissionDenied)
        let kept = try await p.listProviders(request: ListProvidersRequest(), context: context(Self.member, "ListProviders")).providers
        #expect(kept.map(\.baseUrl) == ["https://api.example.com/v1"])

        #expect(try await p.updateProvider(request: update, context: context(Self.owner, "UpdateProvider")).baseUrl == "http://127.0.0.1:9/v1")
        _ = try await p.deleteProvider(request: delete, context: context(Self.owner, "DeleteProvider"))
        #expect(try await p.listProviders(request: ListProvidersRequest(), context: context(Self.owner, "ListProviders")).providers.isEmpty)
    }

    @Test("a provider created without a base URL gets its kind's default: OpenAI's endpoint, the local Ollama")
    func defaultBaseURLs() async throws {
        let h = try await JobHarness(executor: nil)
        defer { Task { await h.close() } }
        var openai = CreateProviderRequest()
        openai.name = "openai"
        openai.kind = .openai
        openai.apiKey = "sk-test"
        #expect(try await h.provider.createProvider(request: openai, context: context(Self.owner, "CreateProvider")).baseUrl == "https://api.openai.com/v1")
        var ollama = CreateProviderRequest()
        ollama.name = "local"
        ollama.kind = .ollama
        #expect(try await h.provider.createProvider(request: ollama, context: context(Self.owner, "CreateProvider")).baseUrl == "http://127.0.0.1:11434")
        var command = CreateProviderRequest()
        command.name = "rules"
        command.kind = .command
        command.command = ["/bin/true"]
        #expect(try await h.provider.createProvider(request: command, context: context(Self.owner, "CreateProvider")).baseUrl == "")
        var bad = CreateProviderRequest()
        bad.name = "bad"
        bad.kind = .openai
        bad.baseUrl = "ftp://example.com"
        #expect(await denied { _ = try await h.provider.createProvider(request: bad, context: context(Self.owner, "CreateProvider")) }?.code == .invalidArgument)
    }

    @Test("an evaluation with a command provider is the owner's only: another caller gets PERMISSION_DENIED and no job")
    func commandEvaluationIsTheOwners() async throws {
        let h = try await JobHarness(executor: CountingExecutor())
        defer { Task { await h.close() } }
        _ = try await h.dataset(items: 6)
        _ = try await h.commandProvider("local")
        var config = ClassificationEvalConfig()
        config.dataset = "topics"
        config.provider = "local"
        config.models = ["m1"]
        var request = CreateJobRequest()
        request.config = .classification(config)
        let refused = await denied { _ = try await h.provider.createJob(request: request, context: context(Self.member, "CreateJob")) }
        #expect(refused?.code == .permissionDenied)
        #expect(refused?.message.contains("uid 1001") == true)
        #expect(try await h.provider.listJobs(request: ListJobsRequest(), context: context(Self.owner, "ListJobs")).jobs.isEmpty)

        let job = try await h.provider.createJob(request: request, context: context(Self.owner, "CreateJob"))
        #expect(try await h.waitForStatus(job.id, [.completed, .failed]).status == .completed)
    }
}
