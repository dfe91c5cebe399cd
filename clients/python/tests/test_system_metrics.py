"""System metrics: one sampler thread logs `sys/` series to the runs that ask for them, at
steps 0, 1, 2, …; psutil or /proc for the host and the process, NVML for GPUs; it stops when
the runs end."""
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

import tally
from tally import _sysmetrics
from tally._sysmetrics import Reader, metrics

BASE_KEYS = {"sys/cpu_percent", "sys/proc_cpu_percent", "sys/proc_rss_mb", "sys/memory_percent",
             "sys/disk_read_bytes_per_s", "sys/disk_write_bytes_per_s", "sys/net_sent_bytes_per_s",
             "sys/net_recv_bytes_per_s"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(i * i for i in range(1000))


def test_a_run_gets_sys_series_at_sample_steps(daemon):
    run = tally.start_run(unique("sys"), system_metrics_interval=0.1, capture_env=False)
    busy(0.65)
    run.log({"loss": 1.0})
    run.end()
    stopped = run.acknowledged_points
    info = tally.get_run(run.id)
    keys = {k for k in info.metrics if k.startswith("sys/")}
    assert BASE_KEYS <= keys, BASE_KEYS - keys
    history = tally.history(run.id, ["sys/cpu_percent", "sys/proc_cpu_percent", "sys/proc_rss_mb",
                                     "sys/memory_percent"])
    steps = history["sys/cpu_percent"].steps
    assert len(steps) >= 3 and steps == list(range(len(steps)))
    assert all(0 <= v <= 100 for v in history["sys/cpu_percent"].values)
    assert all(0 < v <= 100 for v in history["sys/memory_percent"].values)
    assert max(history["sys/proc_cpu_percent"].values) > 20  # this process was busy
    assert all(v > 1 for v in history["sys/proc_rss_mb"].values)
    time.sleep(0.3)  # nothing comes after the end
    assert tally.get_run(run.id).metrics["sys/cpu_percent"].count == len(steps)
    assert run.acknowledged_points == stopped
    assert run not in _sysmetrics.sampler._runs


def test_system_metrics_false_logs_none(daemon):
    run = tally.start_run(unique("nosys"), system_metrics=False, system_metrics_interval=0.05, capture_env=False)
    assert run not in _sysmetrics.sampler._runs
    time.sleep(0.3)
    run.log({"loss": 1.0})
    run.end()
    assert sorted(tally.get_run(run.id).metrics) == ["loss"]


def test_several_runs_share_the_sampler_and_the_thread_ends_with_them(daemon, tmp_path):
    script = textwrap.dedent("""
        import sys, time, tally
        from tally._sysmetrics import sampler
        a = tally.start_run(sys.argv[1], system_metrics_interval=0.1, capture_env=False)
        b = tally.start_run(sys.argv[1], system_metrics_interval=0.25, capture_env=False)
        threads = lambda: sum(1 for t in __import__("threading").enumerate() if t.name == "tally-sysmetrics")
        time.sleep(0.6)
        assert threads() == 1, threads()
        a.end()
        time.sleep(0.3)
        b.end()
        deadline = time.monotonic() + 2
        while sampler.running() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not sampler.running() and threads() == 0
        print(a.id, b.id)
    """)
    out = subprocess.run([sys.executable, "-c", script, unique("share")], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TALLY_SOCKET": daemon.socket})
    assert out.returncode == 0, out.stderr
    a, b = out.stdout.split()
    count_a = tally.get_run(a).metrics["sys/cpu_percent"].count
    count_b = tally.get_run(b).metrics["sys/cpu_percent"].count
    assert count_a >= 4 and 2 <= count_b < count_a, (count_a, count_b)


def test_proc_fallback_reads_what_psutil_reads():
    pytest.importorskip("psutil")
    with_psutil, with_proc = Reader(use_psutil=True, use_nvml=False), Reader(use_psutil=False, use_nvml=False)
    assert (with_psutil.source, with_proc.source) == ("psutil", "proc")
    a1, b1 = with_psutil.read(), with_proc.read()
    busy(0.2)
    a2, b2 = with_psutil.read(), with_proc.read()
    from_psutil, from_proc = metrics(a1, a2), metrics(b1, b2)
    assert set(from_psutil) == set(from_proc) == BASE_KEYS
    assert from_proc["sys/proc_rss_mb"] == pytest.approx(from_psutil["sys/proc_rss_mb"], rel=0.2)
    assert from_proc["sys/memory_percent"] == pytest.approx(from_psutil["sys/memory_percent"], abs=5)
    assert from_proc["sys/proc_cpu_percent"] > 30 and from_psutil["sys/proc_cpu_percent"] > 30


class FakeNVML:
    """`pynvml` as it answers for two GPUs, the second without power readings."""
    NVML_TEMPERATURE_GPU = 0

    class NVMLError(Exception):
        pass

    def __init__(self):
        self.shut = False

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        self.shut = True

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetUtilizationRates(self, h):
        return type("U", (), {"gpu": 87 + h, "memory": 40})()

    def nvmlDeviceGetMemoryInfo(self, h):
        return type("M", (), {"used": (h + 1) * 1024 ** 3, "total": 80 * 1024 ** 3})()

    def nvmlDeviceGetTemperature(self, h, sensor):
        return 60 + h

    def nvmlDeviceGetPowerUsage(self, h):
        if h == 1:
            raise self.NVMLError("Not Supported")
        return 312_500  # milliwatts


def test_gpu_metrics_through_nvml(monkeypatch):
    fake = FakeNVML()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    reader = Reader(use_psutil=False, use_nvml=True)
    row = metrics(reader.read(), reader.read())
    assert {k: v for k, v in row.items() if k.startswith("sys/gpu")} == {
        "sys/gpu0/util_percent": 87.0, "sys/gpu0/memory_used_mb": 1024.0, "sys/gpu0/temperature_c": 60.0,
        "sys/gpu0/power_w": 312.5,
        "sys/gpu1/util_percent": 88.0, "sys/gpu1/memory_used_mb": 2048.0, "sys/gpu1/temperature_c": 61.0,
    }
    reader.close()
    assert fake.shut


def test_no_gpu_metrics_when_nvml_fails(monkeypatch):
    class Broken(FakeNVML):
        def nvmlInit(self):
            raise self.NVMLError("Driver Not Loaded")

    monkeypatch.setitem(sys.modules, "pynvml", Broken())
    reader = Reader(use_psutil=False, use_nvml=True)
    assert not any(k.startswith("sys/gpu") for k in metrics(reader.read(), reader.read()))


def test_gpu_series_reach_the_run(daemon, tmp_path):
    """End to end in a process of its own, with a `pynvml` module on its path answering as above."""
    (tmp_path / "pynvml.py").write_text(
        "import sys, test_system_metrics as t\nsys.modules[__name__] = t.FakeNVML()\n")
    script = textwrap.dedent("""
        import sys, time, tally
        run = tally.start_run(sys.argv[1], system_metrics_interval=0.1, capture_env=False)
        time.sleep(0.45)
        run.end()
        print(run.id)
    """)
    env = {**os.environ, "TALLY_SOCKET": daemon.socket,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", script, unique("gpu")], capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode == 0, out.stderr
    info = tally.get_run(out.stdout.strip())
    assert info.metrics["sys/gpu0/util_percent"].last == 87.0 and info.metrics["sys/gpu1/temperature_c"].last == 61.0
    assert info.metrics["sys/gpu0/power_w"].last == 312.5 and "sys/gpu1/power_w" not in info.metrics
