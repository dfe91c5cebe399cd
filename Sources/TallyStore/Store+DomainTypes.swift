extension Store {
    // The domain types every engine speaks, under the names the SQLite store gave them first.
    public typealias NewArtifact = TallyStore.NewArtifact
    public typealias ArtifactReference = TallyStore.ArtifactReference
    public typealias FolderFile = TallyStore.ArtifactFolderFile
    public typealias DeletedArtifact = TallyStore.DeletedArtifact
    public typealias NewExperiment = TallyStore.NewExperiment
    public typealias ExperimentUpdate = TallyStore.ExperimentUpdate
    public typealias Deletion = TallyStore.Deletion
    public typealias ExperimentQuery = TallyStore.ExperimentQuery
    public typealias NewProvider = TallyStore.NewProvider
    public typealias ProviderUpdate = TallyStore.ProviderUpdate
    public typealias NewRun = TallyStore.NewRun
    public typealias WriterContact = TallyStore.WriterContact
}
