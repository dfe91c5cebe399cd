import Crypto
import Foundation

/// Encrypts secrets at rest (provider API keys) with AES-GCM under a key kept in a file of the
/// data folder, created with mode 0600 on first use. Secrets are only decrypted to make requests.
final class SecretBox: Sendable {
    private let key: SymmetricKey

    /// Loads the key file, creating it when missing.
    /// - Parameter path: The key file, e.g. `<data folder>/secret.key`.
    init(keyFile path: String) throws {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else {
                throw SecretBoxError(message: "the key file \(path) is damaged (\(data.count) bytes, expected 32)")
            }
            key = SymmetricKey(data: data)
            return
        }
        let fresh = SymmetricKey(size: .bits256)
        let bytes = fresh.withUnsafeBytes { Data($0) }
        guard FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
            throw SecretBoxError(message: "cannot create the key file \(path)")
        }
        key = fresh
    }

    /// Encrypts a secret: nonce, ciphertext and tag in one buffer.
    func seal(_ secret: String) throws -> [UInt8] {
        guard let combined = try AES.GCM.seal(Data(secret.utf8), using: key).combined else {
            throw SecretBoxError(message: "encryption failed")
        }
        return [UInt8](combined)
    }

    /// Decrypts a secret sealed with this key.
    func open(_ sealed: [UInt8]) throws -> String {
        let box = try AES.GCM.SealedBox(combined: Data(sealed))
        return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
    }
}

/// A secret could not be stored or read.
struct SecretBoxError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
