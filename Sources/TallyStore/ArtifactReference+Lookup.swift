extension ArtifactReference {
    /// Which row a reference names, in the terms an engine queries: by id, or among the
    /// versions of a name in a run or an experiment (by number, by user alias, or the highest).
    /// Engines resolve the run or experiment first (with its own `notFound`), then look the
    /// version up; ``notFoundError`` is the error when that finds nothing.
    package enum Lookup: Sendable, Hashable {
        /// The version with this id.
        case id(String)
        /// Version `version` of `name` among the run's versions.
        case runVersion(runID: String, name: String, version: Int)
        /// The version of `name` the run logged that carries the user alias `alias`.
        case runAlias(runID: String, name: String, alias: String)
        /// The highest version of `name` the run logged.
        case runLatest(runID: String, name: String)
        /// Version `version` of `name` in the experiment.
        case experimentVersion(experimentID: String, name: String, version: Int)
        /// The version of `name` in the experiment that carries the user alias `alias`.
        case experimentAlias(experimentID: String, name: String, alias: String)
        /// The highest version of `name` in the experiment.
        case experimentLatest(experimentID: String, name: String)
    }

    /// How to find the version: a run's reference takes a version number over an alias, and an
    /// empty alias or "latest" means its highest version; an experiment's alias "latest" means
    /// the highest version, any other alias (even empty) a user alias.
    package var lookup: Lookup {
        switch self {
        case .id(let id):
            return .id(id)
        case .version(let experimentID, let name, let version):
            return .experimentVersion(experimentID: experimentID, name: name, version: version)
        case .alias(let experimentID, let name, let alias):
            return alias == Store.latestAlias
                ? .experimentLatest(experimentID: experimentID, name: name)
                : .experimentAlias(experimentID: experimentID, name: name, alias: alias)
        case .run(let runID, let name, let version, let alias):
            if version > 0 { return .runVersion(runID: runID, name: name, version: version) }
            if !alias.isEmpty, alias != Store.latestAlias { return .runAlias(runID: runID, name: name, alias: alias) }
            return .runLatest(runID: runID, name: name)
        }
    }

    /// The `notFound` error when the run or experiment exists but holds no such version.
    package var notFoundError: StoreError {
        switch lookup {
        case .id(let id):
            return StoreError(code: .notFound, message: "artifact \(id) not found", field: "artifact_id")
        case .runVersion(let runID, let name, let version):
            return StoreError(code: .notFound, message: "run \(runID) logged no version \(version) of artifact \"\(name)\"", field: "name")
        case .runAlias(let runID, let name, let alias):
            return StoreError(code: .notFound, message: "run \(runID) logged no \"\(alias)\" version of artifact \"\(name)\"", field: "name")
        case .runLatest(let runID, let name):
            return StoreError(code: .notFound, message: "run \(runID) logged no artifact \"\(name)\"", field: "name")
        case .experimentVersion(let experimentID, let name, let version):
            return StoreError(
                code: .notFound, message: "artifact \"\(name)\" version \(version) not found in experiment \(experimentID)", field: "version"
            )
        case .experimentAlias(let experimentID, let name, let alias):
            return StoreError(
                code: .notFound, message: "artifact \"\(name)\" has no version \"\(alias)\" in experiment \(experimentID)", field: "alias"
            )
        case .experimentLatest(let experimentID, let name):
            return StoreError(
                code: .notFound, message: "artifact \"\(name)\" has no version \"\(Store.latestAlias)\" in experiment \(experimentID)", field: "name"
            )
        }
    }
}
