import Testing
import TallyStore
@testable import TallyServices

/// The queue between WriteRun's reader and committer: writes that arrived together are taken
/// together (docs/tracking.md, "A run on one stream").
@Suite("Tracking: WriteRun's queue")
struct RunWriteQueueTests {
    static func end(_ i: Int) -> RunWriteOperation {
        .end(runID: String(repeating: "0", count: 15) + String(i % 10), state: .completed, error: "")
    }

    @Test("a write with more behind it waits for them; the burst is taken whole")
    func burstTakenWhole() async throws {
        let queue = RunWriteQueue()
        queue.push(Self.end(1), more: true)
        #expect(!queue.isReady)
        queue.push(Self.end(2), more: true)
        #expect(!queue.isReady)
        queue.push(Self.end(3), more: false)
        #expect(queue.isReady)
        let taken = await queue.take()
        #expect(taken?.0.count == 3)
        #expect(!queue.isReady)
    }

    @Test("a burst longer than the limit is taken in parts of the limit")
    func burstLimit() async throws {
        let queue = RunWriteQueue()
        for i in 0..<(RunWriteQueue.burstLimit - 1) {
            queue.push(Self.end(i), more: true)
            #expect(!queue.isReady)
        }
        queue.push(Self.end(0), more: true)
        #expect(queue.isReady)
        #expect(await queue.take()?.0.count == RunWriteQueue.burstLimit)
    }

    @Test("the end of the requests releases writes that waited for more")
    func finishReleases() async throws {
        let queue = RunWriteQueue()
        queue.push(Self.end(1), more: true)
        queue.finish(nil)
        #expect(queue.isReady)
        let taken = await queue.take()
        #expect(taken?.0.count == 1)
        #expect(await queue.take() == nil)
    }
}
