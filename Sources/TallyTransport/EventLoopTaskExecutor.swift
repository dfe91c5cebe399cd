import NIOCore

/// Runs the jobs of the tasks that prefer it on one event loop's thread.
///
/// A connection's frame reader and its call handlers run on the connection's event loop: a frame
/// read from the socket reaches its handler, and the handler's answer reaches the socket, with no
/// hop between threads (each hop is a wake-up of another thread, the largest cost of a small call).
/// Work a handler awaits elsewhere (the store's queues) resumes here afterwards.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute {
            job.runSynchronously(on: executor)
        }
    }
}
