import Testing
import TallyProto
@testable import TallyStore
@testable import TallyServices

@Suite("Run watchers: bounded backlogs")
struct RunEventHubTests {
    func points(_ count: Int) -> CommittedPoints {
        CommittedPoints(
            runID: "r", keys: ["loss"], keyIndex: [UInt32](repeating: 0, count: count),
            values: [Double](repeating: 1, count: count), steps: (0..<count).map(Int64.init),
            timestampsMs: [Int64](repeating: 0, count: count)
        )
    }

    @Test func aWatcherTooManyPointsBehindIsDroppedAfterWhatItHad() async throws {
        let hub = RunEventHub(bufferLimit: 100, pointLimit: 1000)
        let stalled = hub.subscribe(runID: "r")
        for _ in 0..<3 { hub.publish(points: points(400)) }  // 1200 points: the third is one too many
        var received = 0
        do {
            for try await event in stalled { received += event.pointCount }
            Issue.record("the stream ended without an overflow")
        } catch is RunEventHub.Overflow {
        }
        #expect(received == 800)
        #expect(hub.watcherCount(runID: "r") == 0)
    }

    @Test func aWatcherThatKeepsUpIsNeverDropped() async throws {
        let hub = RunEventHub(bufferLimit: 100, pointLimit: 1000)
        let reader = hub.subscribe(runID: "r")
        var iterator = reader.makeAsyncIterator()
        for _ in 0..<50 {
            hub.publish(points: points(600))
            let event = try await iterator.next()
            #expect(event?.pointCount == 600)
        }
        #expect(hub.watcherCount(runID: "r") == 1)
    }

    @Test func aWatcherTooManyEventsBehindIsDropped() async throws {
        let hub = RunEventHub(bufferLimit: 4, pointLimit: 1_000_000)
        let stalled = hub.subscribe(runID: "r")
        for _ in 0..<5 { hub.publish(points: points(1)) }
        await #expect(throws: RunEventHub.Overflow.self) {
            for try await _ in stalled {}
        }
    }
}
