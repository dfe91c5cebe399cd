"""Memory per call stays bounded whatever a series' length: ten concurrent full reads of a
1,000,000-point series must not hold the series ten times over.

Before reads were paged, each GetMetricHistory call decoded the whole series (and kept the
decoded chunks beside the points it sent): 10 calls on a 2.4 M-point run peaked at 932 MiB.
The daemon's peak resident size (VmHWM) is read from /proc around the reads.
"""
import threading
from pathlib import Path

import tally
from tally.v1 import tracking_pb2

from conftest import daemon, workdir  # noqa: F401  (fixtures)

POINTS = 1_000_000
BATCH = 100_000
READERS = 10


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_concurrent_full_history_reads_are_bounded(daemon):  # noqa: F811
    client = tally.connect(daemon.socket)
    try:
        run = client.start_run("memory", name="long")
        for start in range(0, POINTS, BATCH):
            batch = tracking_pb2.MetricBatch(run_id=run.id, keys=["loss"])
            batch.key_index.extend([0] * BATCH)
            batch.values.extend(float(i) for i in range(start, start + BATCH))
            client.tracking.log_metrics(batch, timeout=60)
        run.end()
        before = peak_rss_mib(daemon.proc.pid)

        totals = [0] * READERS
        errors = []

        def read(index: int) -> None:
            try:
                with tally.connect(daemon.socket) as reader:
                    request = tracking_pb2.GetMetricHistoryRequest(run_id=run.id, keys=["loss"])
                    with reader.tracking.get_metric_history(request, timeout=120) as chunks:
                        for chunk in chunks:
                            totals[index] += len(chunk.steps)
            except Exception as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        after = peak_rss_mib(daemon.proc.pid)
    finally:
        client.close()
    assert not errors, errors
    assert totals == [POINTS] * READERS
    # One copy of the series is 24 MB packed; ten readers holding it whole (with the decoded
    # chunks and the records) grew the peak by several hundred MiB.
    growth = after - before
    print(f"peak RSS {before:.0f} -> {after:.0f} MiB (+{growth:.0f}) for {READERS} readers of {POINTS} points")
    assert growth < 160, f"peak RSS grew by {growth:.0f} MiB for {READERS} readers of a {POINTS}-point series"
