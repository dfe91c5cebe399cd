"""The transport's hot paths against a real daemon, threaded and asyncio, printed as one JSON object.

    python clients/python/bench/bench_transport.py [--unary 20000] [--stream 100000] [--socket PATH]

Starts its own daemon (`$TALLY_BIN`, else `.build/debug/tally`) on a temporary socket and data
folder, unless `--socket` names a running one. Figures:

* `unary_p50_ns`/`unary_p99_ns`: `client.diagnostics.echo` of a 16-byte payload, one at a time;
* `bidi_msgs_per_s`: small requests sent on one `EchoBidi` call through `open_call` (`RawCall.send`,
  as the metric batcher sends batches), each answer taken with `recv(block=False)` as it comes
  (as the batcher takes acknowledgements), until every answer is in;
* `stream_msgs_per_s`: responses of one `EchoStream` of 1 KiB messages taken by a `for` loop
  (receive path and WINDOW credit);
* `aio_unary_p50_ns`, `aio_stream_msgs_per_s`: the same through `tally.aio`.

To compare with another version of the client, put its `src` first: PYTHONPATH=/tmp/old/src.
"""
import argparse
import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_log_call import start_daemon  # noqa: E402

def quantile(sorted_values: List[int], q: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(len(sorted_values) * q) - 1))]


def threaded(socket: str, unary: int, stream: int) -> Dict[str, Any]:
    import tally
    from tally.v1 import system_pb2

    client = tally.connect(socket)
    request = system_pb2.EchoRequest(payload=b"\x07" * 16)
    echo = client.diagnostics.echo
    for _ in range(1000):
        echo(request)
    clock = time.perf_counter_ns
    samples = []
    for _ in range(unary):
        t0 = clock()
        echo(request)
        samples.append(clock() - t0)
    samples.sort()

    payload = system_pb2.EchoRequest(payload=b"m" * 32).SerializeToString()
    call = client.channel.open_call("/tally.v1.Diagnostics/EchoBidi")
    got = 0
    t0 = time.perf_counter()
    for _ in range(stream):
        call.send(payload)
        while call.recv(block=False) is not None:
            got += 1
    call.half_close()
    while call.recv() is not None:
        got += 1
    bidi_s = time.perf_counter() - t0
    assert got == stream, (got, stream)

    n = stream // 4
    t0 = time.perf_counter()
    count = sum(1 for _ in client.diagnostics.echo_stream(system_pb2.EchoRequest(count=n, payload=b"s" * 1024)))
    stream_s = time.perf_counter() - t0
    assert count == n
    client.close()
    return {"unary_p50_ns": quantile(samples, 0.5), "unary_p99_ns": quantile(samples, 0.99),
            "bidi_msgs_per_s": round(stream / bidi_s), "stream_msgs_per_s": round(n / stream_s)}


async def asynchronous(socket: str, unary: int, stream: int) -> Dict[str, Any]:
    import tally.aio
    from tally.v1 import system_pb2

    async with tally.aio.connect(socket) as client:
        request = system_pb2.EchoRequest(payload=b"\x07" * 16)
        for _ in range(500):
            await client.diagnostics.echo(request)
        clock = time.perf_counter_ns
        samples = []
        for _ in range(unary // 2):
            t0 = clock()
            await client.diagnostics.echo(request)
            samples.append(clock() - t0)
        samples.sort()
        n = stream // 4
        t0 = time.perf_counter()
        count = 0
        async for _ in client.diagnostics.echo_stream(system_pb2.EchoRequest(count=n, payload=b"s" * 1024)):
            count += 1
        stream_s = time.perf_counter() - t0
        assert count == n
    return {"aio_unary_p50_ns": quantile(samples, 0.5), "aio_stream_msgs_per_s": round(n / stream_s)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--unary", type=int, default=20_000)
    parser.add_argument("--stream", type=int, default=100_000)
    parser.add_argument("--socket", default=None)
    args = parser.parse_args()
    proc: Optional[subprocess.Popen] = None
    root = None
    socket = args.socket
    if socket is None:
        proc, socket, root = start_daemon()
    try:
        result = threaded(socket, args.unary, args.stream)
        result.update(asyncio.run(asynchronous(socket, args.unary, args.stream)))
        import tally
        result["client"] = tally.__file__
        print(json.dumps(result))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
