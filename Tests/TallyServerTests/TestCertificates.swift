import Crypto
import Foundation
import SwiftASN1
import X509

/// A private CA and a server certificate for `localhost` signed by it, written as PEM files in a
/// folder: what a team makes with its own CA, made at test time.
struct TestCertificates {
    let caFile: String
    let certificateFile: String
    let keyFile: String
    /// A second, unrelated CA: a client trusting it must refuse the server.
    let otherCAFile: String

    static func make(in folder: String, commonName: String = "localhost") throws -> TestCertificates {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let now = Date()
        func authority(_ name: String) throws -> (Certificate, P256.Signing.PrivateKey, DistinguishedName) {
            let key = P256.Signing.PrivateKey()
            let subject = try DistinguishedName {
                CommonName(name)
                OrganizationName("Tally tests")
            }
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: .init(key.publicKey),
                notValidBefore: now - 3600,
                notValidAfter: now + 86_400,
                issuer: subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(key)
            )
            return (certificate, key, subject)
        }
        let (ca, caKey, caName) = try authority("Tally Test CA")
        let (other, _, _) = try authority("Some Other CA")
        let serverKey = P256.Signing.PrivateKey()
        let server = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(serverKey.publicKey),
            notValidBefore: now - 3600,
            notValidAfter: now + 86_400,
            issuer: caName,
            subject: try DistinguishedName {
                CommonName(commonName)
                OrganizationName("Tally tests")
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([.dnsName(commonName)])
                try ExtendedKeyUsage([.serverAuth])
            },
            issuerPrivateKey: .init(caKey)
        )
        let files = TestCertificates(
            caFile: folder + "/ca.pem",
            certificateFile: folder + "/server.pem",
            keyFile: folder + "/server.key",
            otherCAFile: folder + "/other-ca.pem"
        )
        try ca.serializeAsPEM().pemString.write(toFile: files.caFile, atomically: true, encoding: .utf8)
        try other.serializeAsPEM().pemString.write(toFile: files.otherCAFile, atomically: true, encoding: .utf8)
        try server.serializeAsPEM().pemString.write(toFile: files.certificateFile, atomically: true, encoding: .utf8)
        try serverKey.pemRepresentation.write(toFile: files.keyFile, atomically: true, encoding: .utf8)
        return files
    }
}
