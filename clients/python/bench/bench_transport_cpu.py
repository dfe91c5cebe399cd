"""The threaded transport's own CPU cost per operation, without a daemon (no scheduling noise).

    python clients/python/bench/bench_transport_cpu.py [--n 200000] [--repeat 5]

Builds a handshaken `tally.Connection` over a socket pair whose other end stays silent, then
swaps its socket for one that drops what is written and returns prepared frames when read, and
times (best of `--repeat`, ns per operation):

* `send_ns`: `Connection.send` of a 40-byte request (what the metric batcher does per batch);
* `ack_ns`: the receive path of one small response: the frames of 64 responses fed to the
  reader's read step at once, then taken one by one with `recv(block=False)` (the batcher's
  acknowledgements), WINDOW credit included;
* `unary_ns`: a unary call's client work: `start_call` with its request, the response and END
  read and dispatched, the response taken and the end seen.

Works with the client before the protocol core (Connection(path, sock, reply, decoder, window))
and after it (Connection(path, sock, core)), so PYTHONPATH=/tmp/old/src compares the two.
"""
import argparse
import json
import socket
import time
from typing import Any, Callable, List

import tally
from tally import _transport, _wire
from tally.v1 import wire_pb2

REPLY = wire_pb2.HelloReply(version=1, max_frame_size=4 << 20, max_concurrent_calls=100,
                            initial_window=1 << 20, connection_id=1)


class FakeSocket:
    """Drops what is written; `recv` returns `feed` (set before each read step)."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real
        self.feed = b""

    def sendall(self, data: bytes) -> None:
        pass

    def recv(self, size: int, flags: int = 0) -> bytes:
        data, self.feed = self.feed, b""
        if not data:
            raise BlockingIOError()
        return data

    def fileno(self) -> int:
        return self.real.fileno()

    def shutdown(self, how: int) -> None:
        pass

    def close(self) -> None:
        pass


def connection() -> Any:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        from tally._protocol import ClientConnectionState
    except ImportError:  # before the protocol core
        conn = _transport.Connection("bench", ours, REPLY, _wire.FrameDecoder(), _wire.DEFAULT_WINDOW)
    else:
        core = ClientConnectionState(path="bench")
        core.initiate()
        core.receive_data(_wire.encode_frame(_wire.HELLO, 0, REPLY.SerializeToString()))
        conn = _transport.Connection("bench", ours, core)
    conn._keep = theirs  # the silent end
    conn._sock = FakeSocket(ours)
    return conn


def best(repeat: int, n: int, run: Callable[[int], None]) -> float:
    times: List[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        run(n)
        times.append((time.perf_counter_ns() - t0) / n)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    conn = connection()
    payload = b"b" * 40

    call = conn.start_call("/tally.v1.Tracking/StreamMetrics")
    call.send_window = 1 << 62

    def send(n: int) -> None:
        s = conn.send
        for _ in range(n):
            s(call, payload)

    acks = conn.start_call("/tally.v1.Tracking/StreamMetrics")
    chunk = b"".join(_wire.encode_frame(_wire.MESSAGE, acks.id, b"\x08\x01\x10\x05") for _ in range(64))

    def ack(n: int) -> None:
        fake = conn._sock
        read, recv = conn._read_available, conn.recv
        for _ in range(n // 64):
            fake.feed = chunk
            read()
            for _ in range(64):
                recv(acks, False)

    def unary(n: int) -> None:
        fake = conn._sock
        read, recv, start = conn._read_available, conn.recv, conn.start_call
        for _ in range(n):
            c = start("/tally.v1.System/Ping", first=b"\x0a\x02hi", end_stream=True)
            fake.feed = _wire.encode_frame(_wire.MESSAGE, c.id, b"\x0a\x02hi") + _wire.encode_frame(_wire.END, c.id)
            read()
            recv(c)
            recv(c)

    result = {
        "send_ns": round(best(args.repeat, args.n, send)),
        "ack_ns": round(best(args.repeat, args.n, ack)),
        "unary_ns": round(best(args.repeat, args.n // 10, unary)),
        "client": tally.__file__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
