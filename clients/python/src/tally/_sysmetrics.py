"""System metrics of open runs (`start_run(system_metrics=True, system_metrics_interval=10.0)`).

One sampler thread per process serves every run that asked for them: it reads the counters
once per wake-up (psutil when installed, else /proc; per GPU, NVML through `pynvml` when
installed and a GPU answers) and logs, to each run whose interval has passed, one row of `sys/`
keys at step = that run's sample number. Rates (CPU %, bytes/s) are computed per run over its
own interval, from the raw counters read at its previous sample (its first from a baseline read
`_GRACE` seconds after it was registered, so that a run shorter than that costs no reading). A
run is unregistered when it ends, and the thread ends `_LINGER` seconds after the last one did. It logs through `Run._log_system`, which appends under the run's own lock, as
`log` does, and never raises into the run: so `run.log` takes no other lock and is not slowed.

Keys (docs/python-data.md): sys/cpu_percent (host, 0-100), sys/proc_cpu_percent (this process,
100 per busy core), sys/proc_rss_mb, sys/memory_percent (host memory in use), sys/disk_read_bytes_per_s,
sys/disk_write_bytes_per_s, sys/net_sent_bytes_per_s, sys/net_recv_bytes_per_s, and per GPU i
sys/gpu<i>/util_percent, sys/gpu<i>/memory_used_mb, sys/gpu<i>/temperature_c, sys/gpu<i>/power_w.
"""

import importlib.util
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple

if TYPE_CHECKING:
    from tally._run import Run

PREFIX = "sys/"
_MB = 1024.0 * 1024.0
_VIRTUAL_DISKS = ("loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd")


# -- reading the counters -----------------------------------------------------------------------

class Reading:
    """Raw counters at one moment; `None` where a counter could not be read."""

    __slots__ = ("at", "proc_cpu", "host_busy", "host_total", "rss", "memory_percent", "disk_read", "disk_write",
                 "net_sent", "net_recv", "gpus")

    def __init__(self) -> None:
        self.at = time.monotonic()
        self.proc_cpu: Optional[float] = None  # seconds of CPU this process used
        self.host_busy: Optional[float] = None  # host CPU time, busy and in all (any unit)
        self.host_total: Optional[float] = None
        self.rss: Optional[float] = None  # bytes
        self.memory_percent: Optional[float] = None
        self.disk_read: Optional[float] = None  # bytes since boot
        self.disk_write: Optional[float] = None
        self.net_sent: Optional[float] = None
        self.net_recv: Optional[float] = None
        self.gpus: List[Dict[str, float]] = []


def _whole_disks() -> Optional[Set[str]]:
    try:
        return {name for name in os.listdir("/sys/block") if not name.startswith(_VIRTUAL_DISKS)}
    except OSError:
        return None


class Reader:
    """Reads counters with psutil when it is installed, else from /proc; GPUs through NVML."""

    def __init__(self, use_psutil: Optional[bool] = None, use_nvml: Optional[bool] = None) -> None:
        if use_psutil is None:
            use_psutil = importlib.util.find_spec("psutil") is not None
        self._psutil: Any = None
        self._process: Any = None
        if use_psutil:
            try:
                import psutil
                self._psutil = psutil
                self._process = psutil.Process()
            except Exception:
                self._psutil = None
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._disks = _whole_disks()
        self._nvml: Any = None
        self._gpu_handles: List[Any] = []
        if use_nvml is None:
            use_nvml = "pynvml" in sys.modules or importlib.util.find_spec("pynvml") is not None
        if use_nvml:
            self._init_nvml()

    @property
    def source(self) -> str:
        return "psutil" if self._psutil is not None else "proc"

    def _init_nvml(self) -> None:
        try:
            import pynvml
            pynvml.nvmlInit()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception:  # not installed, no driver, no GPU
            return
        self._nvml = pynvml
        self._gpu_handles = handles

    def close(self) -> None:
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
            self._nvml = None

    def read(self) -> Reading:
        r = Reading()
        for part in (self._cpu, self._memory, self._disk, self._net, self._gpu):
            try:
                part(r)
            except Exception:  # that part is left out
                pass
        return r

    def _cpu(self, r: Reading) -> None:
        times = os.times()
        r.proc_cpu = times.user + times.system
        if self._psutil is not None:
            t = self._psutil.cpu_times()
            idle = t.idle + getattr(t, "iowait", 0.0)
            total = sum(getattr(t, f, 0.0) for f in ("user", "nice", "system", "idle", "iowait", "irq", "softirq",
                                                      "steal"))
            r.host_busy, r.host_total = total - idle, total
            return
        with open("/proc/stat", "rb") as f:
            fields = [float(x) for x in f.readline().split()[1:9]]
        total = sum(fields)
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
        r.host_busy, r.host_total = total - idle, total

    def _memory(self, r: Reading) -> None:
        if self._psutil is not None:
            r.rss = float(self._process.memory_info().rss)
            r.memory_percent = float(self._psutil.virtual_memory().percent)
            return
        try:
            with open("/proc/self/statm", "rb") as f:
                r.rss = float(f.read().split()[1]) * self._page
        except (OSError, IndexError, ValueError):
            pass
        info: Dict[bytes, float] = {}
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                name, _, rest = line.partition(b":")
                if name in (b"MemTotal", b"MemAvailable"):
                    info[name] = float(rest.split()[0])
        if info.get(b"MemTotal") and b"MemAvailable" in info:
            r.memory_percent = 100.0 * (info[b"MemTotal"] - info[b"MemAvailable"]) / info[b"MemTotal"]

    def _disk(self, r: Reading) -> None:
        disks = self._disks
        if self._psutil is not None:
            counters = self._psutil.disk_io_counters(perdisk=True) or {}
            chosen = [c for name, c in counters.items() if disks is None or name in disks]
            if counters:
                r.disk_read = float(sum(c.read_bytes for c in chosen))
                r.disk_write = float(sum(c.write_bytes for c in chosen))
            return
        read = write = 0.0
        with open("/proc/diskstats", "rb") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 10 or (disks is not None and parts[2].decode() not in disks):
                    continue
                read += float(parts[5]) * 512  # sectors of 512 bytes, whatever the device's
                write += float(parts[9]) * 512
        r.disk_read, r.disk_write = read, write

    def _net(self, r: Reading) -> None:
        sent = recv = 0.0
        if self._psutil is not None:
            for name, c in (self._psutil.net_io_counters(pernic=True) or {}).items():
                if name != "lo":
                    sent += c.bytes_sent
                    recv += c.bytes_recv
            r.net_sent, r.net_recv = sent, recv
            return
        with open("/proc/net/dev", "rb") as f:
            for line in f.readlines()[2:]:
                name, _, rest = line.partition(b":")
                fields = rest.split()
                if name.strip() == b"lo" or len(fields) < 9:
                    continue
                recv += float(fields[0])
                sent += float(fields[8])
        r.net_sent, r.net_recv = sent, recv

    def _gpu(self, r: Reading) -> None:
        nvml = self._nvml
        if nvml is None:
            return
        readers: List[Tuple[str, Callable[[Any], Any]]] = [
            ("util_percent", lambda h: nvml.nvmlDeviceGetUtilizationRates(h).gpu),
            ("memory_used_mb", lambda h: nvml.nvmlDeviceGetMemoryInfo(h).used / _MB),
            ("temperature_c", lambda h: nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU)),
            ("power_w", lambda h: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0),  # milliwatts
        ]
        for handle in self._gpu_handles:
            gpu: Dict[str, float] = {}
            for key, read in readers:
                try:
                    gpu[key] = float(read(handle))
                except Exception:  # not supported by this GPU
                    pass
            r.gpus.append(gpu)


def metrics(previous: Reading, current: Reading) -> Dict[str, float]:
    """One row of `sys/` metrics: levels from `current`, rates over the time since `previous`."""
    out: Dict[str, float] = {}
    elapsed = current.at - previous.at
    if current.host_busy is not None and previous.host_busy is not None and current.host_total is not None \
            and previous.host_total is not None and current.host_total > previous.host_total:
        out["sys/cpu_percent"] = 100.0 * (current.host_busy - previous.host_busy) / (current.host_total - previous.host_total)
    if elapsed > 0 and current.proc_cpu is not None and previous.proc_cpu is not None:
        out["sys/proc_cpu_percent"] = 100.0 * (current.proc_cpu - previous.proc_cpu) / elapsed
    if current.rss is not None:
        out["sys/proc_rss_mb"] = current.rss / _MB
    if current.memory_percent is not None:
        out["sys/memory_percent"] = current.memory_percent
    if elapsed > 0:
        for key, now, then in (("sys/disk_read_bytes_per_s", current.disk_read, previous.disk_read),
                               ("sys/disk_write_bytes_per_s", current.disk_write, previous.disk_write),
                               ("sys/net_sent_bytes_per_s", current.net_sent, previous.net_sent),
                               ("sys/net_recv_bytes_per_s", current.net_recv, previous.net_recv)):
            if now is not None and then is not None:
                out[key] = max(0.0, (now - then) / elapsed)
    for i, gpu in enumerate(current.gpus):
        for name, value in gpu.items():
            out[f"sys/gpu{i}/{name}"] = value
    return out


# -- the sampler ----------------------------------------------------------------------------------

class _State:
    __slots__ = ("interval", "due", "previous", "sample")

    def __init__(self, interval: float, sample: int) -> None:
        self.interval = interval
        # Until the baseline is read: when to read it. A run that ends within `_GRACE` costs no reading.
        self.due = time.monotonic() + min(_GRACE, interval / 2)
        self.previous: Optional[Reading] = None
        self.sample = sample


_GRACE = 0.05  # seconds after its start at which a run's baseline counters are read
_LINGER = 1.0  # seconds the thread waits for another run once none is left, before it ends


class Sampler:
    """The process's sampler thread and the runs it serves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._runs: Dict["Run", _State] = {}
        self._thread: Optional[threading.Thread] = None
        self._reader: Optional[Reader] = None
        self.samples = 0  # readings taken, for tests

    def register(self, run: "Run", interval: float) -> None:
        """Samples `run` every `interval` seconds (at least 0.05) from now until `unregister`."""
        interval = max(0.05, float(interval))
        first = max((step for key, step in run._next_step.items() if key.startswith(PREFIX)), default=0)
        with self._lock:
            self._runs[run] = _State(interval, first)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="tally-sysmetrics", daemon=True)
                self._thread.start()
        self._wake.set()

    def unregister(self, run: "Run") -> None:
        with self._lock:
            if self._runs.pop(run, None) is None:
                return
            empty = not self._runs
        if empty:
            self._wake.set()

    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _loop(self) -> None:
        try:
            if self._reader is None:
                self._reader = Reader()
            reader = self._reader
            while True:
                self._wake.clear()
                with self._lock:
                    states = list(self._runs.items())
                if not states:
                    if self._wake.wait(_LINGER):
                        continue
                    with self._lock:
                        if not self._runs:
                            self._thread = None
                            return
                    continue
                now = time.monotonic()
                due = [(run, state) for run, state in states if state.due <= now]
                if due:
                    reading = reader.read()
                    self.samples += 1
                    for run, state in due:
                        previous = state.previous
                        state.previous = reading
                        if previous is None:  # the baseline: rates over a whole interval from here
                            state.due = reading.at + state.interval
                            continue
                        row = metrics(previous, reading)
                        state.due = max(state.due + state.interval, reading.at + state.interval / 2)
                        if row and not run._log_system(row, state.sample):
                            self.unregister(run)  # ended, or its sender stopped
                        state.sample += 1
                with self._lock:
                    dues = [state.due for state in self._runs.values()]
                if dues:
                    self._wake.wait(max(0.0, min(dues) - time.monotonic()))
        except BaseException:
            with self._lock:
                self._thread = None
            raise

    def after_fork(self) -> None:
        # The parent's thread and runs are not the child's to sample.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._runs = {}
        self._thread = None
        self._reader = None


sampler = Sampler()
