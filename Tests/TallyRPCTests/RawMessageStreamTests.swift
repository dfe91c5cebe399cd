import Testing
import TallyRPC

/// The count of messages a stream holds for its consumer (`hasBufferedMessages`).
@Suite("RPC: raw message streams")
struct RawMessageStreamTests {
    @Test("messages fed and not yet taken are counted until taken")
    func backlog() async throws {
        let (stream, continuation) = RawMessageStream.makeStream()
        #expect(!stream.hasBufferedMessages)
        continuation.yield([1])
        continuation.yield([2])
        #expect(stream.hasBufferedMessages)
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next() == [1])
        #expect(stream.hasBufferedMessages)
        #expect(try await iterator.next() == [2])
        #expect(!stream.hasBufferedMessages)
        continuation.finish()
        #expect(try await iterator.next() == nil)
        #expect(!stream.hasBufferedMessages)
    }

    @Test("a message fed after the end is not counted")
    func afterFinish() async throws {
        let (stream, continuation) = RawMessageStream.makeStream()
        continuation.finish()
        continuation.yield([1])
        #expect(!stream.hasBufferedMessages)
    }

    @Test("a single-message stream has nothing buffered")
    func single() {
        #expect(!RawMessageStream.single([1, 2]).hasBufferedMessages)
    }
}
