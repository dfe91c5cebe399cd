import Synchronization

/// What a hub tells the ``ChangeRelay`` of a daemon sharing its store, set once when the relay is
/// built. Hubs read it on every publish: until it is set (always, on a store without a change
/// feed) a read is one atomic load and takes no lock.
final class RelayHooks<Hooks: Sendable>: Sendable {
    private let hooks = Mutex<Hooks?>(nil)
    private let isSet = Atomic(false)

    /// Sets the hooks.
    func set(_ new: Hooks) {
        hooks.withLock { $0 = new }
        isSet.store(true, ordering: .releasing)
    }

    /// The hooks, once set.
    var current: Hooks? {
        guard isSet.load(ordering: .acquiring) else { return nil }
        return hooks.withLock { $0 }
    }
}
