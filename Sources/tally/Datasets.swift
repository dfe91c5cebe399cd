import ArgumentParser
import Foundation
import TallyAPI
import TallyClient
import TallyProto
import TallyRPC

struct Datasets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datasets",
        abstract: "List, register, show and delete labelled datasets for evaluations.",
        subcommands: [List.self, Show.self, Create.self, Remove.self],
        aliases: ["dataset"]
    )

    static func describe(_ d: Dataset) -> String {
        "\(d.name) (\(d.id)): \(plural(d.itemCount, "item")), \(plural(UInt64(d.labels.count), "label"))"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List datasets, newest first.",
            aliases: ["list"]
        )

        @OptionGroup var client: ClientOptions

        @Option(help: ArgumentHelp("Show at most this many (default 50).", valueName: "n"))
        var limit: Int?

        func validate() throws {
            if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            let want = limit ?? 50
            let response = try await client.withClient("datasets") { c in
                var request = ListDatasetsRequest()
                return try await collectPages(want: want) { size, token in
                    request.pageSize = size
                    request.pageToken = token
                    return try await c.experiments.listDatasets(request, options: client.unary)
                }
            }
            if client.json {
                printJSON(response)
                return
            }
            var table = Table(["ID", "NAME", "ITEMS", "LABELS", "CREATED", "DESCRIPTION"], numeric: ["ITEMS", "LABELS"])
            for d in response.datasets {
                table.add([d.id, d.name, String(d.itemCount), String(d.labels.count), Format.time(ms: d.createdAtMs), d.description])
            }
            table.print()
            if UInt64(response.datasets.count) < response.totalCount {
                printError("(\(response.datasets.count) of \(response.totalCount) datasets; --limit N for more)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a dataset and its labels with their item counts.")

        @OptionGroup var client: ClientOptions

        @Argument(help: ArgumentHelp("The dataset's id or name.", valueName: "id|name"))
        var dataset: String

        func run() async throws {
            let d = try await client.withClient("datasets") { c in
                var request = GetDatasetRequest()
                request.dataset = dataset
                return try await c.experiments.getDataset(request, options: client.unary)
            }
            if client.json {
                printJSON(d)
                return
            }
            printFields([
                ("id", d.id),
                ("name", d.name),
                ("description", d.description),
                ("items", String(d.itemCount)),
                ("created", Format.time(ms: d.createdAtMs)),
                ("updated", Format.time(ms: d.updatedAtMs)),
            ])
            print("\nlabels")
            var table = Table(["ID", "NAME", "ITEMS", "SHARE", "DESCRIPTION"], numeric: ["ITEMS", "SHARE"])
            for label in d.labels {
                let count = d.labelCounts[label.id] ?? 0
                let share = d.itemCount > 0 ? String(format: "%.1f%%", Double(count) / Double(d.itemCount) * 100) : "-"
                table.add([label.id, label.name, String(count), share, label.description])
            }
            table.print(indent: "  ")
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a labelled dataset from a JSONL file or an uploaded JSONL artifact.",
            discussion: """
                Each line of the JSONL holds one object {"id": "…", "text": "…", "label": "…"} (the id may be a number).
                Labels default to the distinct labels of the items; --labels FILE.json gives them as a JSON array of
                {"id", "name", "description"} objects (or plain id strings), --label ID[:NAME[:DESCRIPTION]] one by one.
                """
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: "Name of the dataset (unique).")
        var name: String

        @Option(help: ArgumentHelp("A JSONL file of items, read here and sent with the request.", valueName: "file.jsonl"))
        var items: String?

        @Option(help: ArgumentHelp("Instead of --items: the id of an uploaded JSONL artifact version.", valueName: "artifact-id"))
        var artifact: String?

        @Option(help: ArgumentHelp("The label set as a JSON file.", valueName: "file.json"))
        var labels: String?

        @Option(help: ArgumentHelp("A label; repeatable.", valueName: "id[:name[:description]]"))
        var label: [String] = []

        @Option(help: "What the dataset holds.")
        var description: String = ""

        @Flag(name: .shortAndLong, help: "Print only the dataset's id.")
        var quiet = false

        func validate() throws {
            if (items == nil) == (artifact == nil) { throw ValidationError("give exactly one of --items and --artifact") }
            if labels != nil && !label.isEmpty { throw ValidationError("--labels and --label cannot be combined") }
        }

        func run() async throws {
            var request = CreateDatasetRequest()
            request.name = name
            request.description = description
            if let items {
                request.items = try Self.readItems(items)
            }
            if let artifact {
                var ref = ArtifactRef()
                ref.artifactId = artifact
                request.artifact = ref
            }
            if let labels {
                request.labels = try Self.readLabels(labels)
            } else {
                request.labels = try label.map(Self.parseLabel)
            }
            let dataset = try await client.withClient("datasets") { c in
                try await c.experiments.createDataset(request, options: client.unary)
            }
            if client.json {
                printJSON(dataset)
            } else if quiet {
                print(dataset.id)
            } else {
                print(("created dataset \(Datasets.describe(dataset))").terminalSafe)
            }
        }

        static func readFile(_ path: String) throws -> Data {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationErrorMessage(message: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            return data
        }

        /// JSONL items: one {"id", "text", "label"} object per line; blank lines are skipped.
        static func readItems(_ path: String) throws -> [DatasetItem] {
            let data = try readFile(path)
            var items: [DatasetItem] = []
            for (number, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
                if trimmed.isEmpty { continue }
                guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed)) as? [String: Any] else {
                    throw ValidationErrorMessage(message: "\(path):\(number + 1): not a JSON object")
                }
                let id = (object["id"] as? String) ?? (object["id"] as? NSNumber).map { $0.stringValue }
                guard let id, let text = object["text"] as? String, let label = object["label"] as? String else {
                    throw ValidationErrorMessage(message: "\(path):\(number + 1): needs string fields \"id\", \"text\" and \"label\"")
                }
                var item = DatasetItem()
                item.id = id
                item.text = text
                item.label = label
                items.append(item)
            }
            if items.isEmpty { throw ValidationErrorMessage(message: "\(path) holds no items") }
            return items
        }

        /// A JSON array of label objects or id strings.
        static func readLabels(_ path: String) throws -> [Label] {
            let data = try readFile(path)
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
                throw ValidationErrorMessage(message: "\(path): expected a JSON array of labels")
            }
            return try array.enumerated().map { index, element in
                var label = Label()
                if let id = element as? String {
                    label.id = id
                } else if let object = element as? [String: Any], let id = object["id"] as? String {
                    label.id = id
                    label.name = object["name"] as? String ?? ""
                    label.description = object["description"] as? String ?? ""
                } else {
                    throw ValidationErrorMessage(message: "\(path): label \(index + 1) needs a string \"id\"")
                }
                return label
            }
        }

        /// "id", "id:name" or "id:name:description" (the description may contain colons).
        static func parseLabel(_ text: String) throws -> Label {
            let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard let id = parts.first, !id.isEmpty else {
                throw ValidationError("--label expects ID[:NAME[:DESCRIPTION]], got \"\(text)\"")
            }
            var label = Label()
            label.id = id
            label.name = parts.count > 1 ? parts[1] : ""
            label.description = parts.count > 2 ? parts[2] : ""
            return label
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Delete a dataset (jobs keep what they were created with).",
            aliases: ["delete"]
        )

        @OptionGroup var client: ClientOptions

        @Argument(help: ArgumentHelp("The dataset's id or name.", valueName: "id|name"))
        var dataset: String

        func run() async throws {
            let (d, response) = try await client.withClient("datasets") { c in
                var get = GetDatasetRequest()
                get.dataset = dataset
                let d = try await c.experiments.getDataset(get, options: client.unary)
                var request = DeleteDatasetRequest()
                request.dataset = d.id
                return (d, try await c.experiments.deleteDataset(request, options: client.unary))
            }
            if client.json {
                printJSON(response)
            } else {
                print(("deleted dataset \(d.name) (\(d.id))").terminalSafe)
            }
        }
    }
}
