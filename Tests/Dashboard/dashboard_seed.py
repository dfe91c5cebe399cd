"""The real daemon with its HTTP gateway, and the data the dashboard tests, the screenshots
(scripts/screenshots) and the dashboard benchmark (Tests/Dashboard/bench_dashboard.py) put in it.

Everything goes through the real binary ($TALLY_BIN, else .build/debug/tally) and the real Python
client (clients/python) on the daemon's Unix socket; the browser side only ever talks HTTP.
This module imports nothing from pytest, so that the scripts can use it too.
"""
import http.client
import importlib.util
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python" / "src"))

import tally  # noqa: E402
from tally.v1 import experiments_pb2 as xpb  # noqa: E402
from tally.v1 import tracking_pb2 as tpb  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOKEN_COOKIE = "tally_token"
STUB_API_KEY = "sk-dashboard-test-7c21"


def tally_bin() -> str:
    path = os.environ.get("TALLY_BIN") or str(REPO / ".build" / "debug" / "tally")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"tally binary not found at {path}; build it with `swift build`")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the daemon ------------------------------------------------------------------------------------


class Daemon:
    """`tally serve --socket … --home … --http 127.0.0.1:PORT` on a fresh temporary folder.
    `token` is read from <home>/dashboard-token once the gateway answers."""

    def __init__(self, root: Optional[Path] = None, binary: Optional[str] = None, extra_args=(), log_level="warning"):
        # Short paths: Unix socket paths are limited to 107 bytes.
        self.owns_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="tally-dash-", dir="/tmp"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket = str(self.root / "run" / "tally.sock")
        self.home = str(self.root / "home")
        self.binary = binary or tally_bin()
        self.stderr_path = self.root / "daemon.stderr"
        last_error = None
        for _ in range(3):  # a port taken between free_port() and the bind: try another
            self.port = free_port()
            self.base = f"http://127.0.0.1:{self.port}"
            cmd = [self.binary, "serve", "--log-level", log_level, "--socket", self.socket, "--home", self.home,
                   "--http", f"127.0.0.1:{self.port}", *extra_args]
            self._stderr = open(self.stderr_path, "w")
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                         env=dict(os.environ, TALLY_HOME=self.home))
            try:
                self.banner = self._read_banner()
                self.token = self._wait_for_gateway()
                return
            except RuntimeError as error:
                last_error = error
                self.stop()
        raise RuntimeError(f"the daemon with --http did not start: {last_error}")

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def _read_banner(self) -> str:
        lines: List[str] = []
        timer = threading.Timer(60, self.proc.kill)
        timer.start()
        try:
            for line in iter(self.proc.stdout.readline, ""):
                lines.append(line)
                if line.strip().startswith("artifacts:"):
                    break
        finally:
            timer.cancel()
        if not lines or not lines[-1].strip().startswith("artifacts:"):
            raise RuntimeError(f"daemon exited early ({self.proc.poll()}): {''.join(lines)} {self.stderr()}")
        self.banner = "".join(lines)
        # Keep reading stdout so that a chatty daemon never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        return self.banner

    def _drain(self):
        for line in iter(self.proc.stdout.readline, ""):
            self.banner += line

    def _wait_for_gateway(self, timeout=30.0) -> str:
        token_path = Path(self.home) / "dashboard-token"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited ({self.proc.returncode}): {self.stderr()}")
            if token_path.exists():
                token = token_path.read_text().strip()
                if token:
                    try:
                        status, _, _ = http_request("GET", self.base + "/api/methods",
                                                    headers={"Authorization": f"Bearer {token}"}, timeout=5)
                        if status == 200:
                            return token
                    except OSError:
                        pass
            time.sleep(0.05)
        raise RuntimeError(f"no gateway on {self.base} (token file {token_path}) within {timeout}s: {self.stderr()}")

    def client(self) -> "tally.Client":
        return tally.connect(self.socket)

    def url(self, path="/") -> str:
        return self.base + path

    def auth(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def rpc(self, service: str, method: str, request=None, *, headers=None, timeout=60):
        """A unary call through the gateway with the bearer token: (status, parsed JSON body)."""
        status, _, body = http_request(
            "POST", f"{self.base}/api/{service}/{method}", body=json.dumps(request or {}).encode(),
            headers={"Content-Type": "application/json", **self.auth(), **(headers or {})}, timeout=timeout)
        return status, json.loads(body) if body else None

    def stop(self, timeout=15) -> Optional[int]:
        code = None
        if getattr(self, "proc", None) is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
        if getattr(self, "_stderr", None):
            self._stderr.close()
        return code

    def cleanup(self):
        self.stop()
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)


def http_request(method: str, url: str, body: Optional[bytes] = None, headers=None, timeout=30):
    """One HTTP request, redirects NOT followed: (status, {lower-case header: value}, body bytes).
    A repeated header (Set-Cookie) has its values joined with "\\n"."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        out: Dict[str, str] = {}
        for key, value in response.getheaders():
            key = key.lower()
            out[key] = out[key] + "\n" + value if key in out else value
        return response.status, out, data
    finally:
        conn.close()


def parse_sse(text: str):
    """Server-Sent Events as a list of (event name, parsed JSON data)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


# -- the stand-in for an OpenAI-compatible model server --------------------------------------------


def load_stub_model_server():
    """Tests/CLI/stub_model_server.py (a real loopback HTTP server), loaded by path so that this
    suite's `conftest` stays the only one imported."""
    path = REPO / "Tests" / "CLI" / "stub_model_server.py"
    spec = importlib.util.spec_from_file_location("tally_stub_model_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_stub_model_server():
    """A started StubModelServer requiring STUB_API_KEY; `stop()` it when done."""
    return load_stub_model_server().StubModelServer(api_key=STUB_API_KEY).start()


# -- seeded data -----------------------------------------------------------------------------------

OPTIMIZERS = ["adam", "sgd", "adamw"]


@dataclass
class SeededRun:
    id: str
    name: str
    experiment: str
    params: Dict[str, object]
    status: str
    final: Dict[str, float]
    steps: int


@dataclass
class Seeded:
    experiments: Dict[str, str] = field(default_factory=dict)  # name -> id
    runs: List[SeededRun] = field(default_factory=list)
    sweep_id: str = ""
    sweep_experiment: str = ""
    eval_job_id: str = ""
    eval_dataset: str = ""
    running_job_id: str = ""

    def runs_of(self, experiment: str) -> List[SeededRun]:
        return [r for r in self.runs if r.experiment == experiment]

    def run(self, name: str) -> SeededRun:
        return next(r for r in self.runs if r.name == name)


def curve(step: int, steps: int, lr: float, layers: int, rng: random.Random, noise=0.01, dropout=0.0):
    """A plausible training curve: loss falls faster with a better lr, more layers, less dropout."""
    quality = 1.0 / (1.0 + abs(math.log10(lr) + 2.5)) * (0.6 + 0.1 * min(layers, 4)) * (1.0 - 0.6 * dropout)
    t = (step + 1) / steps
    loss = 2.3 * math.exp(-4.0 * quality * t) + 0.05 + rng.gauss(0, noise)
    val_loss = loss * 1.08 + 0.02 + rng.gauss(0, noise)
    val_acc = max(0.0, min(1.0, 1.0 - val_loss / 2.5 + rng.gauss(0, noise / 2)))
    return {"loss": loss, "val_loss": val_loss, "val_acc": val_acc}


def log_curves(client: "tally.Client", run_id: str, steps: int, lr: float, layers: int, seed: int,
               dropout: float = 0.0) -> Dict[str, float]:
    """Logs loss, val_loss and val_acc for `steps` steps in one LogMetrics call; returns the last values."""
    rng = random.Random(seed)
    keys = ["loss", "val_loss", "val_acc"]
    batch = tpb.MetricBatch(run_id=run_id, keys=keys)
    last: Dict[str, float] = {}
    for step in range(steps):
        values = curve(step, steps, lr, layers, rng, dropout=dropout)
        for index, key in enumerate(keys):
            batch.key_index.append(index)
            batch.values.append(values[key])
            batch.steps.append(step)
        last = values
    client.tracking.log_metrics(batch)
    return last


def start_run(client: "tally.Client", experiment: str, name: str, params: Dict[str, object], tags=None) -> str:
    request = tpb.StartRunRequest(experiment=tpb.ExperimentRef(name=experiment), create_experiment=True, name=name,
                                  tags=tags or {})
    for key, value in params.items():
        pv = request.params[key]
        if isinstance(value, bool):
            pv.bool_value = value
        elif isinstance(value, int):
            pv.int_value = value
        elif isinstance(value, float):
            pv.double_value = value
        else:
            pv.string_value = str(value)
    return client.tracking.start_run(request).id


def end_run(client: "tally.Client", run_id: str, status="completed", error=""):
    statuses = {"completed": tpb.RUN_STATUS_COMPLETED, "failed": tpb.RUN_STATUS_FAILED, "killed": tpb.RUN_STATUS_KILLED}
    client.tracking.end_run(tpb.EndRunRequest(run_id=run_id, status=statuses[status], error=error))


def create_experiment(client: "tally.Client", name: str, description: str, tags: Dict[str, str], goal: Dict[str, str]) -> str:
    goals = {k: (tpb.METRIC_GOAL_MINIMIZE if v == "min" else tpb.METRIC_GOAL_MAXIMIZE) for k, v in goal.items()}
    return client.tracking.create_experiment(tpb.CreateExperimentRequest(
        name=name, description=description, tags=tags, metric_goals=goals, get_if_exists=True)).id


# The tracking data of the tests: three experiments with runs of known names, params and curves.
EXPERIMENTS = [
    ("mnist-cnn", "digit classifier", {"team": "vision"}, {"val_loss": "min", "val_acc": "max"}),
    ("cifar-resnet", "ResNet on CIFAR-10", {"team": "vision", "stage": "prod"}, {"val_acc": "max"}),
    ("news-bert", "topic classifier fine-tuning", {"team": "nlp"}, {"val_loss": "min"}),
]


def seed_tracking(client: "tally.Client", seeded: Seeded, runs_per_experiment=(8, 6, 4), steps=200) -> Seeded:
    """Experiments of EXPERIMENTS with runs named `<experiment>-lr<lr>-<optimizer>-l<layers>-d<dropout>`:
    lr cycles through 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, … ; the last run of the first
    experiment ends failed, the one before it killed; all others completed."""
    lrs = [0.1, 0.03, 0.01, 0.003, 0.001, 0.0003]
    for (name, description, tags, goal), count in zip(EXPERIMENTS, runs_per_experiment):
        seeded.experiments[name] = create_experiment(client, name, description, tags, goal)
        for i in range(count):
            lr = lrs[i % len(lrs)]
            layers = 2 + (i % 4)
            optimizer = OPTIMIZERS[i % len(OPTIMIZERS)]
            params = {"lr": lr, "optimizer": optimizer, "layers": layers, "batch_size": 32 * (1 + i % 3),
                      "dropout": round(0.1 * (i % 5), 1), "use_amp": i % 2 == 0}
            run_name = f"{name}-lr{lr:g}-{optimizer}-l{layers}-d{params['dropout']:g}"
            run_id = start_run(client, name, run_name, params, tags={"seed": str(i)})
            final = log_curves(client, run_id, steps, lr, layers, seed=zlib.crc32(f"{name}/{i}".encode()),
                               dropout=params["dropout"])
            status = "completed"
            if name == "mnist-cnn" and i == count - 1:
                status = "failed"
            elif name == "mnist-cnn" and i == count - 2:
                status = "killed"
            end_run(client, run_id, status, error="CUDA out of memory" if status == "failed" else "")
            seeded.runs.append(SeededRun(run_id, run_name, name, params, status, final, steps))
    return seeded


def seed_sweep(client: "tally.Client", seeded: Seeded, experiment="sweep-mlp", epochs=8) -> Seeded:
    """A finished grid sweep (lr × layers, 3 × 2 = 6 trials) worked in this process, each trial
    logging a val_loss curve to its run and reporting its last value; the best is lr 0.01, 4 layers."""
    sweep = client.create_sweep(
        {"lr": [0.001, 0.01, 0.1], "layers": [2, 4]}, method="grid", objective="val_loss",
        direction="minimize", max_parallel=1, fixed={"epochs": epochs}, experiment=experiment)
    for trial in sweep.trials(worker="seed"):
        with trial:
            lr, layers = trial.params["lr"], trial.params["layers"]
            loss = 0.0
            for epoch in range(trial.params["epochs"]):
                loss = (math.log10(lr) + 2) ** 2 + 0.05 * (4 - layers) ** 2 + 0.3 / (epoch + 1)
                trial.run.log({"val_loss": loss}, step=epoch)
            trial.report(loss)
    sweep.wait(timeout=60)
    seeded.sweep_id = sweep.id
    seeded.sweep_experiment = experiment
    return seeded


def seed_rich_sweep(client: "tally.Client", experiment="sweep-resnet", trials=24) -> str:
    """A finished bayesian sweep over lr (log), layers, dropout and optimizer whose trials report
    3 fold scores each (so the best has confidence intervals) after logging a val_loss curve;
    for the screenshots. Returns the job id."""
    rng = random.Random(11)
    sweep = client.create_sweep(
        {"lr": tally.loguniform(1e-4, 1e-1), "layers": tally.int_range(2, 8), "dropout": tally.uniform(0.0, 0.5, step=0.05),
         "optimizer": ["adam", "sgd", "adamw"]},
        method="bayesian", objective="val_loss", direction="minimize", max_trials=trials, max_parallel=1,
        seed=3, fixed={"epochs": 12}, experiment=experiment)
    for trial in sweep.trials(worker="seed"):
        with trial:
            p = trial.params
            base = (math.log10(p["lr"]) + 2.5) ** 2 * 0.2 + 0.03 * (p["layers"] - 5) ** 2 + 0.4 * abs(p["dropout"] - 0.2) \
                + (0.15 if p["optimizer"] == "sgd" else 0.0) + 0.1
            for epoch in range(p["epochs"]):
                trial.run.log({"val_loss": base + 1.5 / (epoch + 1) + rng.gauss(0, 0.01)}, step=epoch)
            trial.report(folds=[base + rng.gauss(0, 0.02) for _ in range(3)])
    sweep.wait(timeout=120)
    return sweep.id


# The evaluation data set: the stub model answers from the rules written in the text
# (Tests/CLI/stub_model_server.py). Model "a" gets all but n10 right, "b" is fooled twice.
EVAL_ITEMS = [
    ("n1", "Match report: the home side won 3-1. LABEL=sports CONF=0.9", "sports"),
    ("n2", "Final score after extra time. LABEL=sports CONF=0.8", "sports"),
    ("n3", "The new phone has a faster chip. LABEL=tech CONF=0.95", "tech"),
    ("n4", "Chip shortage hits carmakers. LABEL=tech CONF=0.7 LABEL@b=sports", "tech"),
    ("n5", "Election results are in. LABEL=politics CONF=0.9", "politics"),
    ("n6", "Budget vote delayed again. LABEL=politics CONF=0.6 LABEL@b=tech", "politics"),
    ("n7", "Stadium tickets sold out. LABEL=sports CONF=0.9", "sports"),
    ("n8", "Software update fixes a bug. LABEL=tech CONF=0.85", "tech"),
    ("n9", "Parliament debates the bill. LABEL=politics CONF=0.75 GARBAGE@b", "politics"),
    ("n10", "Derby day preview. GARBAGE", "sports"),
]
EVAL_ACCURACY = {"a": 0.9, "b": 0.6}


def ensure_provider(client: "tally.Client", stub, name="stub-llm") -> str:
    try:
        client.experiments.create_provider(xpb.CreateProviderRequest(
            name=name, kind=xpb.PROVIDER_KIND_OPENAI, base_url=stub.openai_base_url, api_key=STUB_API_KEY))
    except tally.AlreadyExists:
        pass
    return name


def create_dataset(client: "tally.Client", name: str, items, delay_ms=0) -> str:
    request = xpb.CreateDatasetRequest(name=name, description="news headlines by topic", labels=[
        xpb.Label(id="sports", name="Sports", description="games and athletes"),
        xpb.Label(id="tech", name="Technology"),
        xpb.Label(id="politics", name="Politics")])
    for item_id, text, label in items:
        if delay_ms:
            text += f" DELAY{delay_ms}"
        request.items.append(xpb.DatasetItem(id=item_id, text=text, label=label))
    return client.experiments.create_dataset(request).id


def create_eval_job(client: "tally.Client", dataset: str, provider: str, models, concurrency=2) -> str:
    job = client.experiments.create_job(xpb.CreateJobRequest(classification=xpb.ClassificationEvalConfig(
        dataset=dataset, provider=provider, models=list(models), concurrency=concurrency)))
    return job.id


def wait_for_job(client: "tally.Client", job_id: str, timeout=120.0):
    deadline = time.monotonic() + timeout
    while True:
        job = client.experiments.get_job(xpb.GetJobRequest(job_id=job_id))
        if job.status in (xpb.JOB_STATUS_COMPLETED, xpb.JOB_STATUS_FAILED, xpb.JOB_STATUS_CANCELLED):
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {xpb.JobStatus.Name(job.status)} after {timeout}s")
        time.sleep(0.1)


def seed_evaluation(client: "tally.Client", seeded: Seeded, stub, dataset="news") -> Seeded:
    """A completed evaluation of models a and b on the `news` data set (accuracy 0.9 and 0.6)."""
    provider = ensure_provider(client, stub)
    create_dataset(client, dataset, EVAL_ITEMS)
    job_id = create_eval_job(client, dataset, provider, ["a", "b"])
    job = wait_for_job(client, job_id)
    if job.status != xpb.JOB_STATUS_COMPLETED:
        raise RuntimeError(f"seed evaluation ended {xpb.JobStatus.Name(job.status)}: {job.error}")
    seeded.eval_job_id = job_id
    seeded.eval_dataset = dataset
    return seeded


def start_slow_job(client: "tally.Client", stub, dataset="news-slow", items=40, delay_ms=250, models=("a",)) -> str:
    """An evaluation job that runs for about items × delay_ms (one request at a time): its
    progress moves while a page watches it. Not waited for."""
    provider = ensure_provider(client, stub)
    rows = [(f"s{i}", f"Headline {i}. LABEL=tech CONF=0.8", "tech") for i in range(items)]
    create_dataset(client, dataset, rows, delay_ms=delay_ms)
    return create_eval_job(client, dataset, provider, models, concurrency=1)


def seed_all(client: "tally.Client", stub, *, runs_per_experiment=(8, 6, 4), steps=200, running_job=False) -> Seeded:
    seeded = Seeded()
    seed_tracking(client, seeded, runs_per_experiment, steps)
    seed_sweep(client, seeded)
    seed_evaluation(client, seeded, stub)
    if running_job:
        seeded.running_job_id = start_slow_job(client, stub)
    return seeded


# -- benchmark data --------------------------------------------------------------------------------


def seed_wide_runs(connect, experiment: str, runs: int, params: int = 20, metrics: int = 10,
                   steps: int = 5, workers: int = 4, progress=None) -> str:
    """`runs` completed runs named run-00000…, each with `params` params (p0…, doubles in [0, 1))
    and `metrics` metric series (m0…) of `steps` points, in one experiment; returns its id.
    `connect()` makes a client; `workers` threads with one connection each do the calls."""
    first = connect()
    experiment_id = create_experiment(first, experiment, f"{runs} runs x {params} params x {metrics} metrics", {}, {})
    first.close()
    keys = [f"m{k}" for k in range(metrics)]
    done = [0]
    lock = threading.Lock()
    errors: List[BaseException] = []

    def work(worker: int):
        client = connect()
        try:
            for i in range(worker, runs, workers):
                rng = random.Random(i)
                request = tpb.StartRunRequest(experiment=tpb.ExperimentRef(id=experiment_id), name=f"run-{i:05d}")
                for p in range(params):
                    request.params[f"p{p}"].double_value = rng.random()
                run_id = client.tracking.start_run(request).id
                batch = tpb.MetricBatch(run_id=run_id, keys=keys)
                for step in range(steps):
                    for k in range(metrics):
                        batch.key_index.append(k)
                        batch.values.append(rng.random())
                        batch.steps.append(step)
                client.tracking.log_metrics(batch)
                client.tracking.end_run(tpb.EndRunRequest(run_id=run_id, status=tpb.RUN_STATUS_COMPLETED))
                with lock:
                    done[0] += 1
                    if progress and done[0] % 1000 == 0:
                        progress(done[0])
        except BaseException as error:  # noqa: BLE001 - reported by the caller's thread
            errors.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return experiment_id


def seed_long_series(client: "tally.Client", experiment: str, runs: int, points: int, key="loss",
                     batch_points=250_000, progress=None) -> List[str]:
    """`runs` runs with one series `key` of `points` points each (steps 0…points-1), logged with
    LogMetrics in batches of `batch_points`; returns the run ids."""
    ids = []
    start = time.time()
    for r in range(runs):
        run_id = start_run(client, experiment, f"long-{r:02d}", {"lr": 10 ** -(1 + r % 4), "seed": r})
        for first in range(0, points, batch_points):
            n = min(batch_points, points - first)
            steps = range(first, first + n)
            values = [2.0 * math.exp(-s / (points / 3)) + 0.05 * math.sin(s / 50 + r) + 0.01 * r for s in steps]
            batch = tpb.MetricBatch(run_id=run_id, keys=[key])
            batch.key_index.extend([0] * n)
            batch.values.extend(values)
            batch.steps.extend(steps)
            client.tracking.log_metrics(batch, timeout=300)
        client.tracking.end_run(tpb.EndRunRequest(run_id=run_id, status=tpb.RUN_STATUS_COMPLETED))
        ids.append(run_id)
        if progress:
            progress(r + 1, time.time() - start)
    return ids


# -- the browser -----------------------------------------------------------------------------------


def make_driver(width=1400, height=900):
    """Headless Chromium (Debian's) through chromedriver, with the console log collected and the
    viewport set to exactly width × height CSS pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    driver.set_page_load_timeout(60)
    return driver


# The view's <main data-test="view"> says data-ready="true" once its first data is on screen; the
# router sets data-error="true" with it when the view failed (app.js).
READY_JS = """
const el = document.querySelector('main[data-ready="true"]') || document.querySelector('[data-ready="true"]');
if (!el) return null;
if (el.dataset.error === "true") return {error: el.innerText.slice(0, 2000)};
return {ready: true};
"""


class Browser:
    """A driver logged in to one daemon's dashboard. `open(route)` loads the page afresh at
    `#<route>` and waits for the view to say it is ready; console entries are collected in `console`."""

    def __init__(self, driver, daemon: Daemon, login=True):
        self.driver = driver
        self.daemon = daemon
        self.console: List[dict] = []
        if login:
            self.login()

    def drain_console(self) -> List[dict]:
        try:
            entries = self.driver.get_log("browser")
        except Exception:  # noqa: BLE001 - a driver without the log endpoint
            entries = []
        self.console.extend(entries)
        return entries

    def severe(self) -> List[dict]:
        self.drain_console()
        return [e for e in self.console if e.get("level") == "SEVERE"]

    def login(self):
        self.driver.get("about:blank")
        self.driver.get(f"{self.daemon.base}/?token={urllib.parse.quote(self.daemon.token)}")
        self.wait_ready()

    def open(self, route: str, timeout=30.0, wait=True, allow_error=False):
        """Loads `<base>/#<route>` as a new document (through about:blank) and waits for
        [data-ready="true"]."""
        self.drain_console()
        self.console.clear()
        self.driver.get("about:blank")
        self.driver.get(f"{self.daemon.base}/#{route}")
        if wait:
            return self.wait_ready(timeout, allow_error=allow_error)

    def wait_ready(self, timeout=30.0, allow_error=False):
        """Waits for the view's data-ready="true"; fails when the router marked it data-error
        (unless `allow_error`). Returns {"ready": True} or {"error": text}."""
        state = self.wait_until(lambda: self.driver.execute_script(READY_JS), timeout,
                                lambda: "the view never set data-ready=\"true\"")
        if "error" in state and not allow_error:
            raise AssertionError(f"the view at {self.driver.current_url} failed: {state['error']!r}\n"
                                 f"console: {self.console_text()}")
        return state

    def wait_until(self, predicate, timeout=20.0, describe=None, interval=0.05):
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = predicate()
                if value:
                    return value
            except Exception as error:  # noqa: BLE001 - stale elements while the view re-renders
                last_error = error
            time.sleep(interval)
        what = describe() if describe else "condition"
        raise AssertionError(
            f"{what} within {timeout}s at {self.driver.current_url}"
            + (f" (last error: {last_error!r})" if last_error else "")
            + f"\npage text: {self.text()[:1500]!r}\nconsole: {self.console_text()}")

    def console_text(self) -> str:
        self.drain_console()
        return "\n".join(f"{e.get('level')} {e.get('message')}" for e in self.console) or "(empty)"

    def text(self) -> str:
        try:
            return self.driver.execute_script("return document.body ? document.body.innerText : ''") or ""
        except Exception:  # noqa: BLE001
            return ""

    def screenshot(self, path: str):
        self.driver.save_screenshot(path)
