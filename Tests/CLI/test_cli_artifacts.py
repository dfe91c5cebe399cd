"""`tally artifacts ls|put|get|alias|rm` against a real daemon."""
import hashlib
import os
import stat

from conftest import table_rows, tally_fails, tally_json, tally_ok


def setup_run(daemon, workdir):
    tally_ok(daemon, "experiments", "create", "art", "-q")
    run = tally_ok(daemon, "runs", "start", "art").strip()
    data = os.urandom(3 * 1024 * 1024 + 123)  # several 1 MiB chunks each way
    path = workdir / "model.bin"
    path.write_bytes(data)
    return run, path, data


def test_put_get_round_trip(daemon, workdir):
    run, path, data = setup_run(daemon, workdir)
    digest = hashlib.sha256(data).hexdigest()
    out = tally_ok(daemon, "artifacts", "put", run, str(path), "--name", "models/model.bin", "--type", "model",
                   "--alias", "best", "--meta", "epoch=3")
    assert out.startswith("uploaded models/model.bin v1 (")
    record = tally_json(daemon, "artifacts", "put", run, str(path), "--name", "models/model.bin")
    assert record["version"] == 2 and record["sha256"] == digest and record["size"] == str(len(data))
    assert record["aliases"] == ["latest"]

    rows = table_rows(tally_ok(daemon, "artifacts", "ls", "--experiment", "art"))
    assert rows[0] == ["ID", "NAME", "VERSION", "TYPE", "SIZE", "ALIASES", "RUN", "SHA256", "CREATED"]
    assert [r[1:4] for r in rows[1:]] == [["models/model.bin", "1", "model"], ["models/model.bin", "2", "other"]]
    assert rows[1][4] == "3.0 MiB" and rows[1][5] == "best" and rows[2][5] == "latest"
    assert len(tally_json(daemon, "artifacts", "ls", "--run", run)["artifacts"]) == 2

    # By experiment, name and alias; into a folder (keeps the last part of the name).
    target = workdir / "out"
    target.mkdir()
    out = tally_ok(daemon, "artifacts", "get", "--experiment", "art", "--name", "models/model.bin",
                   "--alias", "best", "-o", str(target))
    assert out.strip().endswith(f"to {target}/model.bin")
    assert (target / "model.bin").read_bytes() == data
    assert not [p for p in os.listdir(target) if p != "model.bin"]  # no temporary file left

    # Refuses to overwrite without --force.
    again = tally_fails(daemon, "artifacts", "get", record["id"], "-o", str(target / "model.bin"))
    assert again.returncode == 1 and "exists; use --force" in again.stderr
    tally_ok(daemon, "artifacts", "get", record["id"], "-o", str(target / "model.bin"), "--force")
    assert (target / "model.bin").read_bytes() == data

    # By run and name (the run's latest version of the name).
    by_run = tally_json(daemon, "artifacts", "get", "--run", run, "--name", "models/model.bin",
                        "-o", str(workdir / "byrun.bin"))
    assert by_run["version"] == 2 and (workdir / "byrun.bin").read_bytes() == data
    by_run = tally_json(daemon, "artifacts", "get", "--run", run, "--name", "models/model.bin", "--version", "1",
                        "-o", str(workdir / "byrun1.bin"))
    assert by_run["version"] == 1
    assert "give an artifact id, or --name with one of --experiment and --run" in tally_fails(
        daemon, "artifacts", "get", "--run", run, "--experiment", "art", "--name", "x").stderr

    # Missing folders are created: "-o out2/" is a folder, "-o a/b/c.bin" a file in new folders.
    tally_ok(daemon, "artifacts", "get", record["id"], "-o", str(workdir / "out2") + "/")
    assert (workdir / "out2" / "model.bin").read_bytes() == data
    tally_ok(daemon, "artifacts", "get", record["id"], "-o", str(workdir / "a" / "b" / "c.bin"))
    assert (workdir / "a" / "b" / "c.bin").read_bytes() == data

    moved = tally_json(daemon, "artifacts", "alias", "best", record["id"])
    assert moved["aliases"] == ["best", "latest"]
    assert tally_ok(daemon, "artifacts", "rm", "--experiment", "art", "--name", "models/model.bin",
                    "--version", "1").strip() == "deleted the version (its content is still referenced)"
    assert tally_json(daemon, "artifacts", "rm", record["id"]) == {"blobRemoved": True}


def test_corrupted_blob_is_data_loss_and_leaves_no_file(daemon, workdir):
    run, path, data = setup_run(daemon, workdir)
    record = tally_json(daemon, "artifacts", "put", run, str(path))
    digest = record["sha256"]
    blob = os.path.join(daemon.home, "artifacts", "blobs", "sha256", digest[:2], digest)
    os.chmod(blob, stat.S_IRUSR | stat.S_IWUSR)
    with open(blob, "r+b") as f:
        f.seek(len(data) - 10)
        f.write(b"corrupted!")
    target = workdir / "dl"
    target.mkdir()
    result = tally_fails(daemon, "artifacts", "get", record["id"], "-o", str(target / "copy.bin"))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: DATA_LOSS: ")
    assert os.listdir(target) == []


def test_upload_to_ended_run_and_missing_file(daemon, workdir):
    run, path, _ = setup_run(daemon, workdir)
    missing = tally_fails(daemon, "artifacts", "put", run, str(workdir / "nope"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    tally_ok(daemon, "runs", "end", run)
    ended = tally_fails(daemon, "artifacts", "put", run, str(path))
    assert ended.stderr.startswith("Error: FAILED_PRECONDITION: ")


def test_reference_usage_errors(daemon):
    result = tally_fails(daemon, "artifacts", "get", "--name", "x")
    assert result.returncode == 64
    result = tally_fails(daemon, "artifacts", "ls")
    assert result.returncode == 64


def test_put_and_get_a_folder(daemon, workdir):
    tally_ok(daemon, "experiments", "create", "folders", "-q")
    run = tally_ok(daemon, "runs", "start", "folders").strip()
    src = workdir / "ckpt"
    files = {"model.bin": os.urandom(1_500_000), "config.json": b"{}", "sub/dir/notes.txt": b"hello", "empty": b""}
    for rel, data in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    out = tally_ok(daemon, "artifacts", "put", run, str(src), "--type", "model")
    assert out.startswith("uploaded ckpt v1 (") and "a folder of 4 files" in out
    record = tally_json(daemon, "artifacts", "put", run, str(src) + "/")
    assert record["folder"] is True and record["fileCount"] == 4 and record["name"] == "ckpt"
    assert int(record["filesSize"]) == sum(len(v) for v in files.values())
    rows = table_rows(tally_ok(daemon, "artifacts", "ls", "--run", run))
    assert rows[1][4].endswith("in 4 files")

    def tree(root):
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    got = tally_ok(daemon, "artifacts", "get", record["id"], "-o", str(workdir / "restored"))
    assert got.strip().endswith(f"to {workdir}/restored")
    assert tree(workdir / "restored") == files
    # An existing folder gets the artifact's name inside it; an existing target needs --force.
    tally_ok(daemon, "artifacts", "get", "--run", run, "--name", "ckpt", "-o", str(workdir / "restored"))
    assert tree(workdir / "restored" / "ckpt") == files
    refused = tally_fails(daemon, "artifacts", "get", record["id"], "-o", str(workdir / "restored"))
    assert "exists; use --force" in refused.stderr
    (workdir / "restored" / "ckpt" / "stale").write_bytes(b"x")
    tally_ok(daemon, "artifacts", "get", record["id"], "-o", str(workdir / "restored"), "--force")
    assert tree(workdir / "restored" / "ckpt") == files
    assert not [p for p in os.listdir(workdir / "restored") if ".tally-" in p]
    # A folder cannot go to standard output.
    assert "is a folder" in tally_fails(daemon, "artifacts", "get", record["id"], "-o", "-").stderr

    # A damaged file fails the download and leaves nothing.
    digest = hashlib.sha256(files["model.bin"]).hexdigest()
    blob = os.path.join(daemon.home, "artifacts", "blobs", "sha256", digest[:2], digest)
    os.chmod(blob, stat.S_IRUSR | stat.S_IWUSR)
    with open(blob, "r+b") as f:
        f.seek(1000)
        f.write(b"damaged")
    failed = tally_fails(daemon, "artifacts", "get", record["id"], "-o", str(workdir / "broken"))
    assert "DATA_LOSS" in failed.stderr or "damaged" in failed.stderr
    assert not (workdir / "broken").exists()
    assert not [p for p in os.listdir(workdir) if ".tally-" in p]
