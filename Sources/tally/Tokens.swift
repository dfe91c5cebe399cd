import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Make, list and revoke the access tokens of clients on TCP (admin; docs/teams.md).",
        subcommands: [Create.self, List.self, Revoke.self],
        aliases: ["token"]
    )

    static func expiry(_ token: AccessToken) -> String {
        token.expiresAtMs == 0 ? "never" : Format.time(ms: token.expiresAtMs)
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an access token and print it, once: the daemon keeps only its hash.",
            discussion: """
                Examples:
                  tally tokens create alice --role member --expires 90d
                  tally tokens create dashboard-wall --role viewer
                Hand the printed token to its user, who sets TALLY_TOKEN to it. Runs and experiments
                made with it are created by NAME.
                """
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The token's name: the user it stands for (1 to 64 letters, digits, '.', '_', '-', '@'; unique).")
        var name: String

        @Option(help: ArgumentHelp("viewer (reads), member (also logs, uploads, runs jobs), or admin (also providers, tokens, deletions).", valueName: "role"))
        var role: String

        @Option(help: ArgumentHelp("Lifetime: a number and a unit, s, m, h, d or w (30d); none: it does not expire.", valueName: "duration"))
        var expires: String?

        func validate() throws {
            guard Role(name: role) != nil else { throw ValidationError("--role must be viewer, member or admin, got \"\(role)\"") }
            if let expires { _ = try Tokens.seconds(expires) }
        }

        func run() async throws {
            var request = CreateTokenRequest()
            request.name = name
            request.role = role
            request.expiresInS = try expires.map(Tokens.seconds) ?? 0
            let response = try await client.withClient("tokens") { c in
                try await c.system.createToken(request, options: client.unary)
            }
            if client.json {
                printJSON(response)
                return
            }
            // The token alone on standard output, for `export TALLY_TOKEN=$(tally tokens create …)`.
            print(response.secret)
            let token = response.token ?? AccessToken()
            let note = "token \(token.name) (\(token.role), expires \(Tokens.expiry(token))): shown once, keep it secret\n"
            FileHandle.standardError.write(Data(note.utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List the access tokens (never their secrets).",
            aliases: ["list"]
        )

        @OptionGroup var client: ClientOptions

        func run() async throws {
            let response = try await client.withClient("tokens") { c in
                try await c.system.listTokens(ListTokensRequest(), options: client.unary)
            }
            if client.json {
                printJSON(response)
                return
            }
            var table = Table(["NAME", "ROLE", "ID", "CREATED", "EXPIRES", "CREATED BY"])
            for token in response.tokens {
                table.add([token.name, token.role, token.id, Format.time(ms: token.createdAtMs), Tokens.expiry(token), token.createdBy])
            }
            table.print()
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an access token: new connections presenting it are refused.",
            aliases: ["rm"]
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "The token's name.")
        var name: String

        func run() async throws {
            var request = RevokeTokenRequest()
            request.name = name
            let response = try await client.withClient("tokens") { c in
                try await c.system.revokeToken(request, options: client.unary)
            }
            if client.json {
                printJSON(response)
                return
            }
            let token = response.token ?? AccessToken()
            print("revoked token \(token.name) (\(token.role))")
        }
    }

    /// "30d" as seconds: a positive whole number and a unit (s, m, h, d, w), at most 10 years.
    static func seconds(_ text: String) throws -> UInt64 {
        let units: [Character: UInt64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        guard let unit = text.last, let scale = units[unit], let count = UInt64(text.dropLast()), count > 0 else {
            throw ValidationError("--expires takes a number and a unit, s, m, h, d or w (30d), got \"\(text)\"")
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: scale)
        guard !overflow, seconds <= 10 * 366 * 86_400 else {
            throw ValidationError("--expires is at most 10 years, got \"\(text)\"")
        }
        return seconds
    }
}
