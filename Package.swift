// swift-tools-version:6.1
import PackageDescription

// The release `tally` binary is linked for a small resident size (docs/performance.md):
// the Swift runtime and Foundation linked in statically, relative relocations packed (lld),
// no symbol table exported for dynamic linking.
let releaseBinarySettings: [LinkerSetting] = [
    .unsafeFlags(
        ["-static-stdlib", "-lCoreFoundation", "-l_FoundationICU", "-l_FoundationCShims", "-l_FoundationCollections", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
        .when(configuration: .release)
    ),
]

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "tally",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tally", targets: ["tally"]),
        .library(name: "TallyClient", targets: ["TallyClient"]),
        .library(name: "TallyServer", targets: ["TallyServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // The dashboard's HTTP server; its default traits (swift-configuration, full Foundation)
        // are not needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        // The PostgreSQL store engine (docs/teams.md).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // TCP with TLS for teams (docs/teams.md), and the peer certificate's subject.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    ],
    targets: [
        // C layer: the protobuf-c runtime from the system, and protoc-c's output for proto/.
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .target(
            name: "CTallyProto",
            dependencies: ["CProtobufC"],
            exclude: ["README.md"]
        ),
        // Generated Swift message types over CTallyProto; the only Swift module touching C pointers.
        .target(
            name: "TallyProto",
            dependencies: ["CTallyProto", "CProtobufC"],
            swiftSettings: swiftSettings
        ),
        // Transport-agnostic RPC core: status codes, errors, descriptors, router, streams.
        .target(
            name: "TallyRPC",
            dependencies: [
                "TallyProto",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Generated service protocols and typed clients.
        .target(
            name: "TallyAPI",
            dependencies: ["TallyProto", "TallyRPC"],
            swiftSettings: swiftSettings
        ),
        // SwiftNIO transport: the Unix socket, and TCP with TLS; the only module importing NIO.
        .target(
            name: "TallyTransport",
            dependencies: [
                "TallyProto",
                "TallyRPC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP gateway and the dashboard (docs/dashboard.md): every RPC of the router as JSON
        // over HTTP (Hummingbird), beside the socket transport, and the dashboard's own files.
        .target(
            name: "TallyGateway",
            dependencies: [
                "TallyProto", "TallyRPC", "TallyAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Dashboard")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TallyStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL store engine: the StoreEngine protocol of TallyStore over postgres-nio,
        // with its own migrations and the filter language compiled to PostgreSQL's SQL.
        .target(
            name: "TallyPostgres",
            dependencies: [
                "TallyStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // Its pool's error type (a failed connection), to answer UNAVAILABLE.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Classification evaluation engine: providers (OpenAI-compatible, Ollama, command),
        // sampling, prompts, the runner and the metrics. Plain Swift types, no protocol or store.
        .target(
            name: "TallyEvaluation",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TallyServices",
            dependencies: [
                "TallyProto", "TallyRPC", "TallyAPI", "TallyStore", "TallyEvaluation", "TallySweeps",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TallyServer",
            dependencies: [
                "TallyProto", "TallyRPC", "TallyAPI", "TallyTransport", "TallyStore", "TallyPostgres", "TallyServices", "TallyGateway", "TallyJournal",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Clients' offline journals: the file format, and delivery to the tracking service
        // (`tally sync`, and the daemon at start).
        .target(
            name: "TallyJournal",
            dependencies: ["TallyProto", "TallyRPC", "TallyAPI"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TallyClient",
            dependencies: [
                "TallyProto", "TallyRPC", "TallyAPI", "TallyTransport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Hyperparameter sweeps: search spaces, grid/random/TPE samplers, the median pruner and
        // cross-validation statistics. Pure computation, no dependencies.
        .target(
            name: "TallySweeps",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tally-bench-sweeps",
            dependencies: ["TallySweeps"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tally",
            dependencies: [
                "TallyServer", "TallyClient", "TallyGateway", "TallyJournal", "TallyProto", "TallyRPC", "TallyAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: releaseBinarySettings
        ),
        // Load and soak test of the real daemon (docs/reliability.md).
        .executableTarget(
            name: "tally-load",
            dependencies: ["TallyClient", "TallyAPI", "TallyProto", "TallyRPC"],
            swiftSettings: swiftSettings
        ),
        // Benchmarks of the hot paths against baselines measured in the same run (scripts/bench).
        .executableTarget(
            name: "tally-bench",
            dependencies: [
                "TallyClient", "TallyAPI", "TallyProto", "TallyRPC", "TallyStore", "TallyPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tally-example-train",
            dependencies: [
                "TallyClient", "TallyAPI", "TallyProto", "TallyRPC",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzzing (docs/reliability-fuzzing.md): the targets' code, and one executable per target
        // that replays corpus files in a normal build and is a libFuzzer fuzzer when built by
        // scripts/fuzz (-sanitize=fuzzer -DFUZZING).
        .target(
            name: "TallyFuzzing",
            dependencies: [
                "TallyProto", "TallyRPC", "TallyAPI", "TallyTransport", "TallyStore", "TallyServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "tally-fuzz-frames", dependencies: ["TallyFuzzing"], swiftSettings: swiftSettings),
        .executableTarget(name: "tally-fuzz-messages", dependencies: ["TallyFuzzing"], swiftSettings: swiftSettings),
        .executableTarget(name: "tally-fuzz-filter", dependencies: ["TallyFuzzing"], swiftSettings: swiftSettings),
        .executableTarget(name: "tally-fuzz-calls", dependencies: ["TallyFuzzing"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TallyFuzzTests",
            dependencies: ["TallyFuzzing", "TallyAPI", "TallyProto", "TallyRPC", "TallyStore", "TallyTransport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyGatewayTests",
            dependencies: [
                "TallyGateway", "TallyServices", "TallyAPI", "TallyProto", "TallyRPC",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // One suite of store behaviour, run against every engine: SQLite always, PostgreSQL when
        // $TALLY_TEST_POSTGRES_URL names a server (scripts/test starts a throwaway cluster).
        .testTarget(
            name: "StoreEngineTests",
            dependencies: [
                "TallyStore", "TallyPostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyProtoTests",
            dependencies: ["TallyProto"],
            resources: [.copy("Vectors")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyRPCTests",
            dependencies: ["TallyProto", "TallyRPC", "TallyAPI", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyTransportTests",
            dependencies: [
                "TallyProto", "TallyRPC", "TallyTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyStoreTests",
            dependencies: ["TallyStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyEvaluationTests",
            dependencies: [
                "TallyServices", "TallyStore", "TallyAPI", "TallyRPC", "TallyProto",
                "TallyEvaluation",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyServicesTests",
            dependencies: [
                "TallyServices", "TallyStore", "TallyProto", "TallyRPC", "TallyAPI", "TallyJournal",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallySweepsTests",
            dependencies: ["TallySweeps"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TallyServerTests",
            dependencies: [
                "TallyServer", "TallyClient", "TallyProto", "TallyRPC", "TallyAPI", "TallyTransport", "TallyStore", "TallyServices", "TallyPostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
