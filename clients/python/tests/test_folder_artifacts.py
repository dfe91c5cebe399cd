"""Folder artifacts through the real daemon: upload a folder as one version, restore it, and
share unchanged files between versions."""
import hashlib
import os
from pathlib import Path

import pytest

import tally
from tally import _folders


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(4).hex()}"


def make_tree(root: Path) -> dict:
    files = {
        "weights/model.bin": os.urandom(2_500_000),  # three chunks of 1 MiB
        "config.json": b'{"layers": 4}',
        "tokenizer/vocab.txt": "naïve\nwörds\n".encode(),
        "empty.txt": b"",
        "deep/a/b/c.txt": b"c",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "empty-folder").mkdir()
    return files


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)).replace(os.sep, "/"): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def stored_blobs(daemon) -> set:
    root = Path(daemon.home) / "artifacts" / "blobs" / "sha256"
    return {p.name for p in root.rglob("*") if p.is_file()}


def test_a_folder_is_one_version_and_downloads_as_a_folder(daemon, tmp_path):
    src = tmp_path / "checkpoint"
    files = make_tree(src)
    (src / "link-to-config").symlink_to(src / "config.json")
    (src / "link-to-folder").symlink_to(src / "deep", target_is_directory=True)
    exp = unique("folders")
    with tally.start_run(experiment=exp, capture_env=False, system_metrics=False) as run:
        art = run.log_artifact(src, type="model", aliases=["best"])
    assert art.folder and art.name == "checkpoint" and "best" in art.aliases
    expected = dict(files, **{"link-to-config": files["config.json"]})
    assert art.file_count == len(expected)
    assert art.files_size == sum(len(v) for v in expected.values())
    # The version's hash is its manifest's, as documented.
    manifest = "".join(f"{hashlib.sha256(expected[p]).hexdigest()} {len(expected[p])} {p}\n"
                       for p in sorted(expected, key=lambda p: p.encode()))
    assert art.sha256 == hashlib.sha256(manifest.encode()).hexdigest()

    out = tmp_path / "out"
    out.mkdir()
    record = tally.download_artifact(out, experiment=exp, name="checkpoint", alias="best")
    assert record.id == art.id
    assert tree(out / "checkpoint") == expected
    # A path that does not exist is the folder itself.
    tally.download_artifact(tmp_path / "restored", art.id)
    assert tree(tmp_path / "restored") == expected
    # Into an existing folder, the artifact's name is taken; when that exists too, it is not
    # merged into but refused, unless replace=True.
    (out / "checkpoint" / "stale.txt").write_text("old")
    with pytest.raises(FileExistsError):
        tally.download_artifact(out, art.id)
    assert (out / "checkpoint" / "stale.txt").exists()
    tally.download_artifact(out, art.id, replace=True)
    assert tree(out / "checkpoint") == expected
    assert not [p for p in tmp_path.iterdir() if ".tally-" in p.name], "no temporary folder is left behind"


def test_unchanged_files_are_stored_once_across_versions(daemon, tmp_path):
    src = tmp_path / "ckpt"
    files = make_tree(src)
    with tally.start_run(experiment=unique("folders"), capture_env=False, system_metrics=False) as run:
        before = stored_blobs(daemon)
        v1 = run.log_artifact(src)
        after_v1 = stored_blobs(daemon)
        (src / "config.json").write_bytes(b'{"layers": 8}')
        v2 = run.log_artifact(src)
        added = stored_blobs(daemon) - after_v1
    assert v2.version == v1.version + 1
    # Only the changed file and the new manifest.
    assert added == {hashlib.sha256(b'{"layers": 8}').hexdigest(), v2.sha256}
    assert {hashlib.sha256(v).hexdigest() for v in files.values()} <= after_v1  # every file is a blob
    assert v1.sha256 in after_v1 - before
    out = tmp_path / "v1"
    tally.download_artifact(out, v1.id)
    assert tree(out) == files


def test_a_damaged_file_fails_the_download_and_leaves_nothing(daemon, tmp_path):
    src = tmp_path / "model"
    files = make_tree(src)
    with tally.start_run(experiment=unique("folders"), capture_env=False, system_metrics=False) as run:
        art = run.log_artifact(src)
    sha = hashlib.sha256(files["weights/model.bin"]).hexdigest()
    blob = Path(daemon.home) / "artifacts" / "blobs" / "sha256" / sha[:2] / sha
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[1_000_000] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(tally.DataLoss):
        tally.download_artifact(tmp_path / "broken", art.id)
    assert not (tmp_path / "broken").exists()
    assert not [p for p in tmp_path.iterdir() if ".tally-" in p.name]


def test_a_daemon_sending_an_unsafe_path_is_refused(tmp_path):
    assert not _folders.is_safe("../x") and not _folders.is_safe("/etc/x") and not _folders.is_safe("a//b")
    assert _folders.is_safe("a/b.txt")
    record = tally.v1.tracking_pb2.Artifact(id="a1", folder=True, file_count=1)
    download = _folders.FolderDownload(record, str(tmp_path / "x"))
    with pytest.raises(tally.DataLoss):
        download.start(tally.v1.tracking_pb2.ArtifactFile(path="../escape", size=1, sha256="0" * 64))
    download.discard()
    assert list(tmp_path.iterdir()) == []
