import GRDB

extension StoreError {
    /// The store error a failure of SQLite stands for, when it is one a client should see as such:
    /// a full disk (`SQLITE_FULL`) is ``Code/resourceExhausted``. `nil` for anything else.
    /// - Parameter error: An error thrown by a database access.
    public static func fromSQLite(_ error: any Error) -> StoreError? {
        guard let database = error as? DatabaseError else { return nil }
        if database.resultCode == .SQLITE_FULL {
            return StoreError(code: .resourceExhausted, message: "the disk holding the store is full: \(database.message ?? "database or disk is full")", cause: error)
        }
        return nil
    }
}
