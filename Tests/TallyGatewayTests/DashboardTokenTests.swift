import Foundation
import TallyGateway
import Testing

@Suite struct DashboardTokenTests {
    func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tally-token-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aTokenIsMadeOnceWithMode0600AndKept() throws {
        let home = try folder()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let first = try DashboardToken.loadOrCreate(inFolder: home)
        #expect(first.value.count == 43)
        let attributes = try FileManager.default.attributesOfItem(atPath: home + "/dashboard-token")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let second = try DashboardToken.loadOrCreate(inFolder: home)
        #expect(second == first)
        #expect(DashboardToken.random() != first)
    }

    @Test func aTokenFileOthersCanReadIsMadePrivate() throws {
        let home = try folder()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let path = home + "/dashboard-token"
        try Data("abcdefghijklmnopqrstuvwxyz\n".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let token = try DashboardToken.loadOrCreate(inFolder: home)
        #expect(token.value == "abcdefghijklmnopqrstuvwxyz")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func anEmptyTokenFileIsRefused() throws {
        let home = try folder()
        defer { try? FileManager.default.removeItem(atPath: home) }
        FileManager.default.createFile(atPath: home + "/dashboard-token", contents: Data(), attributes: [.posixPermissions: 0o600])
        #expect(throws: GatewayError.self) { try DashboardToken.loadOrCreate(inFolder: home) }
    }

    @Test func matchingIsExact() {
        let token = DashboardToken("0123456789abcdef")
        #expect(token.matches("0123456789abcdef"))
        #expect(!token.matches("0123456789abcde"))
        #expect(!token.matches("0123456789abcdef0"))
        #expect(!token.matches("1123456789abcdef"))
        #expect(!token.matches(""))
        #expect(!token.description.contains("0123"))
    }
}
