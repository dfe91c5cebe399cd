extension Store: StoreEngine {
    package var engineDescription: String { "sqlite \(path)" }
}
