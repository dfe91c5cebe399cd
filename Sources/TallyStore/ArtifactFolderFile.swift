/// One file of a folder upload: its path and its content, written and fsynced.
public struct ArtifactFolderFile: Sendable {
    public var path: String
    public var content: PendingBlob

    public init(path: String, content: PendingBlob) {
        self.path = path
        self.content = content
    }
}
