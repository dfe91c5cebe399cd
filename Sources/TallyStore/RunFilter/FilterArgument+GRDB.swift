package import GRDB

extension FilterArgument: DatabaseValueConvertible {
    /// The argument as SQLite binds it.
    package var databaseValue: DatabaseValue {
        switch self {
        case .integer(let number): number.databaseValue
        case .double(let number): number.databaseValue
        case .text(let text): text.databaseValue
        case .null: .null
        }
    }

    package static func fromDatabaseValue(_ dbValue: DatabaseValue) -> FilterArgument? {
        switch dbValue.storage {
        case .null: .null
        case .int64(let number): .integer(number)
        case .double(let number): .double(number)
        case .string(let text): .text(text)
        case .blob: nil
        }
    }
}
