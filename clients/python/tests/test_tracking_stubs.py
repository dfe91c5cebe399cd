"""Every Tracking RPC through the generated stubs."""
import hashlib
import uuid

import pytest

import tally
from tally.v1 import tracking_pb2 as pb


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_experiments(client):
    t = client.tracking
    name = unique("exp")
    exp = t.create_experiment(pb.CreateExperimentRequest(name=name, description="d", tags={"team": "a"},
                                                         metric_goals={"loss": pb.METRIC_GOAL_MINIMIZE}))
    assert exp.name == name and exp.id
    with pytest.raises(tally.AlreadyExists):
        t.create_experiment(pb.CreateExperimentRequest(name=name))
    assert t.create_experiment(pb.CreateExperimentRequest(name=name, get_if_exists=True)).id == exp.id
    assert t.get_experiment(pb.GetExperimentRequest(experiment=pb.ExperimentRef(name=name))).id == exp.id
    with pytest.raises(tally.NotFound):
        t.get_experiment(pb.GetExperimentRequest(experiment=pb.ExperimentRef(name=unique("missing"))))
    updated = t.update_experiment(pb.UpdateExperimentRequest(id=exp.id, description="new"))
    assert updated.description == "new" and updated.tags["team"] == "a"
    listed = t.list_experiments(pb.ListExperimentsRequest(name_contains=name))
    assert [e.id for e in listed.experiments] == [exp.id] and listed.total_count == 1
    deleted = t.delete_experiment(pb.DeleteExperimentRequest(id=exp.id))
    assert deleted.deleted_runs == 0


def test_runs_params_metrics_history_search_compare(client):
    t = client.tracking
    exp = unique("runs")
    run = t.start_run(pb.StartRunRequest(experiment=pb.ExperimentRef(name=exp), create_experiment=True, name="r1",
                                         params={"lr": pb.ParamValue(double_value=0.1)}))
    assert run.status == pb.RUN_STATUS_RUNNING
    child = t.start_run(pb.StartRunRequest(experiment=pb.ExperimentRef(id=run.experiment_id), parent_run_id=run.id))
    assert t.list_runs(pb.ListRunsRequest(parent_run_id=run.id)).runs[0].id == child.id
    assert t.log_params(pb.LogParamsRequest(run_id=run.id, params={"layers": pb.ParamValue(int_value=4)})).stored == 1
    with pytest.raises(tally.FailedPrecondition):
        t.log_params(pb.LogParamsRequest(run_id=run.id, params={"layers": pb.ParamValue(int_value=5)}))
    ack = t.log_metrics(pb.MetricBatch(run_id=run.id, keys=["loss"], key_index=[0, 0], values=[1.0, 0.5], sequence=9))
    assert ack.accepted == 2 and ack.sequence == 9
    acks = list(t.stream_metrics(pb.MetricBatch(run_id=run.id, keys=["acc"], key_index=[0], values=[i / 10], steps=[i], sequence=i + 1)
                                 for i in range(5)))
    assert [a.sequence for a in acks] == [1, 2, 3, 4, 5]
    with pytest.raises(tally.InvalidArgument):
        t.log_metrics(pb.MetricBatch(run_id=run.id, keys=["x"], key_index=[3], values=[1.0]))
    chunks = list(t.get_metric_history(pb.GetMetricHistoryRequest(run_id=run.id, keys=["acc"])))
    assert chunks[0].key == "acc" and list(chunks[0].steps) == [0, 1, 2, 3, 4]
    tagged = t.set_run_tags(pb.SetRunTagsRequest(run_id=run.id, tags={"stage": "dev"}))
    assert tagged.tags["stage"] == "dev"
    found = t.search_runs(pb.SearchRunsRequest(experiment_ids=[run.experiment_id], filter='tags.stage = "dev" and metrics.acc.max > 0.3'))
    assert [r.id for r in found.runs] == [run.id]
    with pytest.raises(tally.InvalidArgument) as bad:
        t.search_runs(pb.SearchRunsRequest(filter="params.lr < "))
    assert bad.value.error_details.field == "filter"
    cmp = t.compare_runs(pb.CompareRunsRequest(run_ids=[run.id, child.id]))
    assert len(cmp.runs) == 2
    ended = t.end_run(pb.EndRunRequest(run_id=child.id, status=pb.RUN_STATUS_COMPLETED))
    assert ended.status == pb.RUN_STATUS_COMPLETED
    # The same end again is answered with the run as it is (an end delivered twice); another is refused.
    assert t.end_run(pb.EndRunRequest(run_id=child.id, status=pb.RUN_STATUS_COMPLETED)).completed_at_ms == ended.completed_at_ms
    with pytest.raises(tally.FailedPrecondition):
        t.end_run(pb.EndRunRequest(run_id=child.id, status=pb.RUN_STATUS_KILLED))
    got = t.get_run(pb.GetRunRequest(run_id=run.id))
    assert {m.key for m in got.metrics} == {"loss", "acc"} and got.child_count == 1
    events = t.watch_run(pb.WatchRunRequest(run_id=run.id, include_history=True))
    assert next(events).WhichOneof("event") == "snapshot"
    assert next(events).WhichOneof("event") == "points"
    events.close()
    t.end_run(pb.EndRunRequest(run_id=run.id, status=pb.RUN_STATUS_FAILED, error="boom"))
    assert t.delete_run(pb.DeleteRunRequest(run_id=run.id)).deleted_runs == 2
    with pytest.raises(tally.NotFound):
        t.get_run(pb.GetRunRequest(run_id=run.id))


def test_artifacts(client):
    t = client.tracking
    run = t.start_run(pb.StartRunRequest(experiment=pb.ExperimentRef(name=unique("art")), create_experiment=True))
    content = bytes(range(256)) * 5000  # 1.28 MB: several chunks
    sha = hashlib.sha256(content).hexdigest()
    header = pb.ArtifactHeader(run_id=run.id, name="weights/model.bin", type=pb.ARTIFACT_TYPE_MODEL, expected_sha256=sha, aliases=["best"])
    parts = [pb.UploadArtifactRequest(header=header)] + [pb.UploadArtifactRequest(chunk=content[i:i + 300_000]) for i in range(0, len(content), 300_000)]
    art = t.upload_artifact(iter(parts))
    assert art.sha256 == sha and art.size == len(content) and art.aliases == ["best", "latest"]
    with pytest.raises(tally.DataLoss):
        t.upload_artifact(iter([pb.UploadArtifactRequest(header=pb.ArtifactHeader(run_id=run.id, name="x", expected_sha256="0" * 64)),
                                pb.UploadArtifactRequest(chunk=b"abc")]))
    down = list(t.download_artifact(pb.DownloadArtifactRequest(artifact=pb.ArtifactRef(artifact_id=art.id), chunk_size=100_000)))
    assert down[0].artifact.id == art.id and b"".join(p.chunk for p in down[1:]) == content
    listed = t.list_artifacts(pb.ListArtifactsRequest(run_id=run.id))
    assert [a.id for a in listed.artifacts] == [art.id]
    moved = t.set_artifact_alias(pb.SetArtifactAliasRequest(artifact=pb.ArtifactRef(artifact_id=art.id), alias="prod"))
    assert "prod" in moved.aliases
    assert t.delete_artifact(pb.DeleteArtifactRequest(artifact=pb.ArtifactRef(artifact_id=art.id))).blob_removed
    with pytest.raises(tally.NotFound):
        list(t.download_artifact(pb.DownloadArtifactRequest(artifact=pb.ArtifactRef(artifact_id=art.id))))
