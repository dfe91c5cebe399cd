"""The asyncio channel and stubs against the real daemon."""
import asyncio

import pytest

import tally
import tally.aio
from tally.v1 import system_pb2, tracking_pb2


def run(coro):
    return asyncio.run(coro)


def test_async_call_shapes(daemon):
    async def main():
        async with tally.aio.connect(daemon.socket) as client:
            info = await client.system.info(system_pb2.InfoRequest())
            assert info.pid == daemon.proc.pid
            reply = await client.diagnostics.echo(system_pb2.EchoRequest(payload=b"a"))
            assert reply.payload == b"a"
            stream = [r.index async for r in client.diagnostics.echo_stream(system_pb2.EchoRequest(count=30))]
            assert stream == list(range(30))

            async def requests():
                for i in range(5):
                    yield system_pb2.EchoRequest(payload=b"x" * i)

            collected = await client.diagnostics.echo_collect(requests())
            assert collected.index == 5 and collected.received_bytes == 10
            bidi = [r.index async for r in client.diagnostics.echo_bidi([system_pb2.EchoRequest()] * 4)]
            assert bidi == [0, 1, 2, 3]
            big = b"b" * (256 << 10)
            many = [r async for r in client.diagnostics.echo_stream(system_pb2.EchoRequest(count=16, payload=big))]
            assert len(many) == 16  # 4 MiB through a 1 MiB window
            results = await asyncio.gather(*(client.diagnostics.echo(system_pb2.EchoRequest(payload=bytes([i]))) for i in range(50)))
            assert [r.payload for r in results] == [bytes([i]) for i in range(50)]

    run(main())


def test_async_errors_deadlines_cancellation(daemon):
    async def main():
        client = tally.aio.connect(daemon.socket)
        with pytest.raises(tally.NotFound):
            await client.diagnostics.echo(system_pb2.EchoRequest(fail_code=5, fail_message="x"))
        with pytest.raises(tally.DeadlineExceeded):
            await client.diagnostics.echo(system_pb2.EchoRequest(delay_ms=5000), timeout=0.2)
        stream = client.diagnostics.echo_stream(system_pb2.EchoRequest(count=1000, delay_ms=20))
        assert (await stream.__anext__()).index == 0
        await stream.aclose()
        for _ in range(100):
            info = await client.system.info(system_pb2.InfoRequest())
            if info.calls_in_flight == 1:
                break
            await asyncio.sleep(0.02)
        assert info.calls_in_flight == 1
        with pytest.raises(tally.NotFound):
            await client.tracking.get_run(tracking_pb2.GetRunRequest(run_id="nope"))
        await client.close()

    run(main())


def test_async_missing_daemon(tmp_path):
    async def main():
        with pytest.raises(tally.Unavailable, match="tally serve"):
            await tally.aio.connect(str(tmp_path / "none.sock")).system.info(system_pb2.InfoRequest())

    run(main())
