"""The daemon's HTTP gateway without a browser (urllib/http.client against the real binary):
the token, the RPC mapping in JSON, server-streaming as Server-Sent Events, errors."""
import json
import os
import stat
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import http_request, parse_sse

LIST_EXPERIMENTS = "/api/tally.v1.Tracking/ListExperiments"


def post(daemon, path, body=b"{}", headers=None, auth=True):
    h = {"Content-Type": "application/json"}
    if auth:
        h.update(daemon.auth())
    h.update(headers or {})
    return http_request("POST", daemon.url(path), body=body, headers=h)


def error_body(data: bytes):
    body = json.loads(data)
    assert isinstance(body.get("code"), int) and body.get("codeName") and body.get("message"), body
    return body


# -- the token -----------------------------------------------------------------------------------


def test_token_file_is_private(daemon):
    path = Path(daemon.home) / "dashboard-token"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, oct(mode)
    assert len(daemon.token) >= 32


def test_requests_without_the_token_get_401_and_no_data(daemon, seeded):
    cases = [
        ("GET", "/", None, {}),
        ("GET", "/assets/api.js", None, {}),
        ("POST", LIST_EXPERIMENTS, b"{}", {"Content-Type": "application/json"}),
        ("GET", "/api/methods", None, {}),
        ("GET", "/?token=not-the-token", None, {}),
        ("POST", LIST_EXPERIMENTS, b"{}", {"Authorization": "Bearer not-the-token"}),
        ("POST", LIST_EXPERIMENTS, b"{}", {"Authorization": f"Basic {daemon.token}"}),
        ("POST", LIST_EXPERIMENTS, b"{}", {"Cookie": "tally_token=not-the-token"}),
        ("POST", LIST_EXPERIMENTS, b"{}", {"Cookie": f"tally_token={daemon.token}x"}),
        ("POST", LIST_EXPERIMENTS, b"{}", {"Cookie": f"other={daemon.token}"}),
        # a valid token in the query of a POST does not authenticate it
        ("POST", LIST_EXPERIMENTS + "?token=" + urllib.parse.quote(daemon.token), b"{}", {}),
    ]
    for method, path, body, headers in cases:
        status, response_headers, data = http_request(method, daemon.url(path), body=body, headers=headers)
        assert status == 401, (method, path, headers, status, data[:200])
        assert "set-cookie" not in response_headers, (path, response_headers)
        text = data.decode(errors="replace")
        for experiment in seeded.experiments:
            assert experiment not in text, (path, text[:300])
        assert "<script" not in text and "import " not in text, (path, text[:300])
        body_json = json.loads(data)
        assert body_json["code"] == 16 and body_json["codeName"] == "UNAUTHENTICATED", body_json


def test_requests_with_the_token_get_200(daemon, seeded):
    status, headers, data = http_request("GET", daemon.url("/"), headers=daemon.auth())
    assert status == 200 and headers["content-type"].startswith("text/html"), (status, headers)
    assert b"<script" in data
    status, _, data = post(daemon, LIST_EXPERIMENTS)
    assert status == 200, data
    names = {e["name"] for e in json.loads(data)["experiments"]}
    assert set(seeded.experiments) <= names
    # The cookie works as well as the header.
    status, _, data = post(daemon, LIST_EXPERIMENTS, auth=False, headers={"Cookie": f"tally_token={daemon.token}"})
    assert status == 200 and set(seeded.experiments) <= {e["name"] for e in json.loads(data)["experiments"]}


def test_token_in_the_query_sets_the_cookie_and_redirects(daemon):
    token = urllib.parse.quote(daemon.token)
    status, headers, _ = http_request("GET", daemon.url(f"/?token={token}"))
    assert status == 303, (status, headers)
    assert headers["location"] in ("/", daemon.url("/")), headers["location"]
    cookie = headers["set-cookie"]
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0] == f"tally_token={daemon.token}", cookie
    attributes = {p.split("=")[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts[1:]}
    assert "httponly" in attributes, cookie
    assert attributes.get("samesite", "").lower() == "strict", cookie
    assert attributes.get("path") == "/", cookie

    # Other query parameters stay; only the token goes.
    status, headers, _ = http_request("GET", daemon.url(f"/?view=runs&token={token}&x=1"))
    assert status == 303
    location = urllib.parse.urlsplit(headers["location"])
    assert location.path == "/" and urllib.parse.parse_qs(location.query) == {"view": ["runs"], "x": ["1"]}, headers

    # The cookie it set opens the page.
    status, _, data = http_request("GET", daemon.url("/"), headers={"Cookie": parts[0]})
    assert status == 200 and b"<script" in data


# -- static files --------------------------------------------------------------------------------


def test_static_assets_and_vendor_library(daemon):
    status, headers, data = http_request("GET", daemon.url("/assets/api.js"), headers=daemon.auth())
    assert status == 200, status
    assert "javascript" in headers["content-type"], headers
    assert data == (Path(__file__).resolve().parents[2] / "Sources/TallyGateway/Dashboard/api.js").read_bytes()
    status, headers, data = http_request("GET", daemon.url("/vendor/dygraphs/dygraph.min.js"), headers=daemon.auth())
    assert status == 200 and "javascript" in headers["content-type"], (status, headers)
    assert data == Path("/usr/share/javascript/dygraphs/dygraph.min.js").read_bytes()
    status, headers, _ = http_request("GET", daemon.url("/vendor/dygraphs/dygraph.min.css"), headers=daemon.auth())
    assert status == 200 and "css" in headers["content-type"], (status, headers)
    status, _, _ = http_request("GET", daemon.url("/assets/no-such-file.js"), headers=daemon.auth())
    assert status == 404


@pytest.mark.parametrize("path", [
    "/assets/../../../Package.swift",
    "/assets/%2e%2e/%2e%2e/%2e%2e/Package.swift",
    "/assets/..%2f..%2f..%2fPackage.swift",
    "/assets/views/../../../../Package.swift",
    "/vendor/dygraphs/../../../../../etc/passwd",
    "/vendor/dygraphs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/assets//etc/passwd",
])
def test_static_files_do_not_escape_their_folders(daemon, path):
    status, _, data = http_request("GET", daemon.url(path), headers=daemon.auth())
    assert status in (400, 403, 404), (path, status, data[:200])
    assert b"swift-tools-version" not in data and b"root:" not in data


# -- RPC over HTTP -------------------------------------------------------------------------------


def test_unary_round_trip_in_proto3_json(daemon, client):
    name = "gateway-roundtrip"
    status, _, data = post(daemon, "/api/tally.v1.Tracking/CreateExperiment", json.dumps({
        "name": name, "description": "made over HTTP", "tags": {"via": "gateway"},
        "metricGoals": {"val_loss": "METRIC_GOAL_MINIMIZE"}}).encode())
    assert status == 200, data
    created = json.loads(data)
    assert created["name"] == name and created["tags"] == {"via": "gateway"}
    assert created["metricGoals"] == {"val_loss": "METRIC_GOAL_MINIMIZE"}
    assert isinstance(created["createdAtMs"], str) and int(created["createdAtMs"]) > 0  # int64 as a string
    assert "runCount" not in created  # fields at their default are omitted

    # Seen on the socket too.
    from tally.v1 import tracking_pb2 as tpb
    got = client.tracking.get_experiment(tpb.GetExperimentRequest(experiment=tpb.ExperimentRef(name=name)))
    assert got.id == created["id"] and got.description == "made over HTTP"

    # A run with typed params, and a metric batch with int64 steps as strings.
    status, _, data = post(daemon, "/api/tally.v1.Tracking/StartRun", json.dumps({
        "experiment": {"id": created["id"]}, "name": "r1",
        "params": {"lr": {"doubleValue": 0.01}, "layers": {"intValue": "4"}, "opt": {"stringValue": "adam"},
                   "amp": {"boolValue": True}}}).encode())
    assert status == 200, data
    run = json.loads(data)
    assert run["status"] == "RUN_STATUS_RUNNING"
    assert run["params"]["layers"] == {"intValue": "4"} and run["params"]["lr"] == {"doubleValue": 0.01}
    status, _, data = post(daemon, "/api/tally.v1.Tracking/LogMetrics", json.dumps({
        "runId": run["id"], "keys": ["loss"], "keyIndex": [0, 0, 0], "values": [1.5, 1.0, 0.5],
        "steps": ["0", "1", "2"]}).encode())
    assert status == 200, data
    assert json.loads(data)["accepted"] == "3"
    assert client.history(run["id"], ["loss"])["loss"].values == [1.5, 1.0, 0.5]

    # An empty body is the default request.
    status, _, data = post(daemon, "/api/tally.v1.System/Info", b"")
    assert status == 200 and json.loads(data)["version"], data


def test_server_streaming_call_is_sse_ending_with_end(daemon, seeded):
    run = seeded.runs[0]
    status, headers, data = post(daemon, "/api/tally.v1.Tracking/GetMetricHistory",
                                 json.dumps({"runId": run.id, "keys": ["loss"]}).encode(),
                                 headers={"Accept": "text/event-stream"})
    assert status == 200, data[:300]
    assert headers["content-type"].startswith("text/event-stream"), headers
    events = parse_sse(data.decode())
    assert events and events[-1][0] == "end", events[-3:]
    assert events[-1][1].get("code", 0) == 0, events[-1]
    assert data.decode().rstrip("\n").endswith("}") and "event: end\ndata: " in data.decode()
    chunks = [e for name, e in events[:-1] if name == "message"]
    assert chunks and all(c["key"] == "loss" for c in chunks)
    steps = [int(s) for c in chunks for s in c["steps"]]
    assert steps == list(range(run.steps))
    assert chunks[-1]["values"][-1] == pytest.approx(run.final["loss"])

    # The same call as a GET with ?request= (EventSource).
    query = urllib.parse.quote(json.dumps({"runId": run.id, "keys": ["loss"], "maxPoints": 20}))
    status, headers, data = http_request("GET", daemon.url(f"/api/tally.v1.Tracking/GetMetricHistory?request={query}"),
                                         headers=daemon.auth())
    assert status == 200 and headers["content-type"].startswith("text/event-stream"), (status, data[:300])
    events = parse_sse(data.decode())
    assert events[-1][0] == "end" and events[-1][1].get("code", 0) == 0
    points = sum(len(e["steps"]) for name, e in events if name == "message")
    assert 0 < points <= 40 and any(e.get("downsampled") for name, e in events if name == "message")


def test_echo_stream_and_client_and_bidirectional_calls(daemon):
    status, headers, data = post(daemon, "/api/tally.v1.Diagnostics/EchoStream",
                                 json.dumps({"payload": "aGk=", "count": 3}).encode())
    assert status == 200 and headers["content-type"].startswith("text/event-stream"), (status, data[:200])
    events = parse_sse(data.decode())
    assert [name for name, _ in events] == ["message", "message", "message", "end"], events
    assert [e.get("index", 0) for _, e in events[:3]] == [0, 1, 2]
    assert all(e["payload"] == "aGk=" for _, e in events[:3])

    status, _, data = post(daemon, "/api/tally.v1.Diagnostics/EchoCollect",
                           json.dumps([{"payload": "YQ=="}, {"payload": "YmM="}, {}]).encode())
    assert status == 200, data
    assert json.loads(data)["index"] == 3 and json.loads(data)["receivedBytes"] == "3"

    status, _, data = post(daemon, "/api/tally.v1.Diagnostics/EchoBidi",
                           json.dumps([{"payload": "YQ=="}, {"payload": "YmM="}]).encode())
    assert status == 200, data
    responses = json.loads(data)
    assert isinstance(responses, list) and [r["payload"] for r in responses] == ["YQ==", "YmM="]


def test_a_bad_request_body_is_400_with_a_message(daemon):
    for body in (b"{not json", b'{"runId": 42, "nope": ', b'{"pageSize": "many"}', b'[1, 2]', b'"x"'):
        status, headers, data = post(daemon, "/api/tally.v1.Tracking/ListRuns", body)
        assert status == 400, (body, status, data)
        assert headers["content-type"].startswith("application/json")
        error = error_body(data)
        assert error["code"] == 3 and error["codeName"] == "INVALID_ARGUMENT", error


def test_unknown_method_or_service(daemon):
    for path in ("/api/tally.v1.Tracking/NoSuchMethod", "/api/tally.v1.Nope/ListRuns"):
        status, _, data = post(daemon, path)
        assert status in (404, 501), (path, status, data)
        assert error_body(data)["codeName"] in ("NOT_FOUND", "UNIMPLEMENTED")
    status, _, data = post(daemon, "/api/nothing")
    assert status == 404, (status, data)


def test_rpc_errors_map_to_http_statuses(daemon, seeded):
    status, _, data = post(daemon, "/api/tally.v1.Tracking/GetRun", b'{"runId": "0000000000000000"}')
    assert status == 404 and error_body(data)["codeName"] == "NOT_FOUND", data

    # A bad filter reports its position in ErrorDetails.
    status, _, data = post(daemon, "/api/tally.v1.Tracking/SearchRuns", json.dumps({"filter": "params.lr < "}).encode())
    assert status == 400, data
    error = error_body(data)
    assert error["codeName"] == "INVALID_ARGUMENT" and "position 12" in error["message"], error
    assert error["details"]["field"] == "filter" and error["details"]["position"] == "12", error

    status, _, data = post(daemon, "/api/tally.v1.Tracking/CreateExperiment",
                           json.dumps({"name": "mnist-cnn"}).encode())
    assert status == 409 and error_body(data)["codeName"] == "ALREADY_EXISTS", data

    status, _, data = post(daemon, "/api/tally.v1.Diagnostics/Echo", b'{"failCode": 8, "failMessage": "slow down"}')
    assert status == 429 and error_body(data)["message"] == "slow down", data


def test_provider_management_is_refused_over_http(daemon, client):
    from tally.v1 import experiments_pb2 as xpb
    status, _, data = post(daemon, "/api/tally.v1.Experiments/CreateProvider", json.dumps({
        "name": "evil", "kind": "PROVIDER_KIND_COMMAND", "command": ["/bin/sh", "-c", "id"]}).encode())
    assert status == 403 and error_body(data)["codeName"] == "PERMISSION_DENIED", data
    assert "evil" not in {p.name for p in client.experiments.list_providers(xpb.ListProvidersRequest()).providers}
    for method in ("UpdateProvider", "DeleteProvider"):
        status, _, data = post(daemon, f"/api/tally.v1.Experiments/{method}", b'{"provider": "stub-llm"}')
        assert status == 403, (method, data)
    # Listing is fine (and never shows a key).
    status, _, data = post(daemon, "/api/tally.v1.Experiments/ListProviders")
    assert status == 200


def test_methods_listing(daemon):
    status, _, data = http_request("GET", daemon.url("/api/methods"), headers=daemon.auth())
    assert status == 200
    methods = {m["path"]: m for m in json.loads(data)["methods"]}
    assert methods["/tally.v1.Tracking/ListRuns"]["kind"] == "unary"
    assert methods["/tally.v1.Tracking/ListRuns"]["requestType"] == "tally.v1.ListRunsRequest"
    assert methods["/tally.v1.Tracking/ListRuns"]["responseType"] == "tally.v1.ListRunsResponse"
    assert methods["/tally.v1.Tracking/WatchRun"]["kind"] == "server_streaming"
    assert methods["/tally.v1.Experiments/WatchJobs"]["kind"] == "server_streaming"
    assert methods["/tally.v1.Tracking/StreamMetrics"]["kind"] == "bidirectional"
    assert methods["/tally.v1.Tracking/UploadArtifact"]["kind"] == "client_streaming"


def test_unknown_fields_in_a_request_are_rejected(daemon):
    status, _, data = post(daemon, "/api/tally.v1.Tracking/ListRuns", b'{"pageSize": 5, "noSuchField": 1}')
    assert status == 400, data
    assert "noSuchField" in error_body(data)["message"], data


def test_a_failing_server_streaming_call_reports_its_status(daemon):
    """An unknown run: either an HTTP error before the stream, or the stream's `end` event with the
    error object (the contract allows both); never a 200 with a silent end."""
    status, headers, data = post(daemon, "/api/tally.v1.Tracking/GetMetricHistory", b'{"runId": "00000000deadbeef"}',
                                 headers={"Accept": "text/event-stream"})
    if status == 200:
        assert headers["content-type"].startswith("text/event-stream")
        events = parse_sse(data.decode())
        assert events and events[-1][0] == "end", events
        assert events[-1][1]["code"] == 5 and events[-1][1]["codeName"] == "NOT_FOUND", events[-1]
        assert all(name == "end" for name, _ in events), events
    else:
        assert status == 404 and error_body(data)["codeName"] == "NOT_FOUND", (status, data)


def test_watch_run_over_sse_delivers_live_points_and_ends_with_the_run(daemon, client):
    import http.client
    run = client.start_run("gateway-watch", name="watched")
    run.flush()  # its start is delivered: other connections (here HTTP) see the run
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=30)
    conn.request("POST", "/api/tally.v1.Tracking/WatchRun", body=json.dumps({"runId": run.id}),
                 headers={"Content-Type": "application/json", "Accept": "text/event-stream", **daemon.auth()})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    events = []
    done = threading.Event()

    def read():
        buffer = ""
        for raw in response.fp:
            line = raw.decode()
            buffer += line
            if line in ("\n", "\r\n"):
                events.extend(parse_sse(buffer))
                buffer = ""
                if events and events[-1][0] == "end":
                    break
        done.set()
    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + 10
        while not any("snapshot" in e for _, e in events) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any("snapshot" in e for _, e in events), events
        for step in range(5):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        run.flush()
        run.end()
        assert done.wait(10), f"the stream did not end with the run: {events}"
    finally:
        conn.close()
    steps = [int(s) for name, e in events if name == "message" and "points" in e for s in e["points"].get("steps", ["0"])]
    assert sorted(steps) == [0, 1, 2, 3, 4], events
    statuses = [e["status"]["status"] for name, e in events if name == "message" and "status" in e]
    assert statuses and statuses[-1] == "RUN_STATUS_COMPLETED", events
    assert events[-1] == ("end", events[-1][1]) and events[-1][1].get("code", 0) == 0


def test_tally_ui_prints_the_url_with_the_token(daemon):
    from dashboard_seed import tally_bin
    result = subprocess.run([tally_bin(), "ui", "--socket", daemon.socket], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    parts = urllib.parse.urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == daemon.base, url
    assert urllib.parse.parse_qs(parts.query)["token"] == [daemon.token], url
    # And that URL logs in.
    status, headers, _ = http_request("GET", url)
    assert status == 303 and headers["set-cookie"].startswith(f"tally_token={daemon.token};")
