import NIOCore

/// Runs the jobs of the tasks that prefer it on one event loop's thread.
///
/// A connection's admission task runs on the connection's event loop. Its call handlers run
/// there too when ``ConnectionLimits/handlerExecutor`` is ``ConnectionLimits/HandlerExecutor/eventLoop``
/// (an opt-in): a frame read from the socket reaches its handler, and the handler's answer reaches
/// the socket, with no hop between threads (each hop is a wake-up of another thread, the largest
/// cost of a small call), but a handler that blocks or does file I/O then stalls every connection
/// on that loop. By default handlers run on the global concurrent executor.
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
