"""The asyncio high-level API (`tally.aio`): runs, queries and the journal, as in the threaded API."""
import asyncio
import os
import time
from pathlib import Path

import pytest

import tally
import tally.aio
from tally import _journal


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(4).hex()}"


def test_async_run_logs_and_queries(daemon, monkeypatch, tmp_path):
    monkeypatch.setenv("TALLY_JOURNAL", str(tmp_path / "journal"))
    experiment = unique("aio")

    async def main() -> None:
        async with tally.aio.connect(daemon.socket) as client:
            async with await client.start_run(experiment, name="async", params={"lr": 0.1}, tags=["x"]) as run:
                for step in range(1_000):
                    run.log({"loss": 1.0 / (step + 1), "acc": step / 1000}, step=step)
                    if step % 250 == 0:
                        await asyncio.sleep(0)  # the event loop goes on while the sender sends
                assert await run.log_params({"layers": 4}) == 1
                await run.set_tags({"stage": "dev"})
                await run.flush()
                assert run.acknowledged_points == 2_000 and run.refused_points == 0
            info = await client.get_run(run.id)
            assert info.status == "completed" and info.params["env.python"]  # the environment is captured
            assert {k: v for k, v in info.params.items() if not k.startswith("env.")} == {"lr": 0.1, "layers": 4}
            assert info.tags == {"x": "", "stage": "dev"}
            assert info.metrics["loss"].count == 1_000
            found = await client.search_runs("params.layers = 4", experiments=experiment)
            assert [r.id for r in found] == [run.id]
            history = await client.history(run.id, ["acc"])
            assert history["acc"].steps == list(range(1_000))
            child = await client.start_run(experiment, name="child", parent=run)
            child.log({"loss": 0.5})
            await child.end("failed", error="diverged")
            comparison = await client.compare([run, child])
            assert len(comparison.runs) == 2
            resumed = await client.resume_run(child.id)
            resumed.log({"loss": 0.25})
            await resumed.end()
            again = await client.get_run(child.id)
            assert again.status == "completed" and again.metrics["loss"].last_step == 1

    asyncio.run(main())


def test_async_run_without_a_daemon_goes_to_the_journal(own_daemon, monkeypatch, tmp_path):
    """No daemon: the async run goes on offline, into the same journal the threaded API writes;
    delivered later, every point is stored once."""
    monkeypatch.setenv("TALLY_JOURNAL", str(tmp_path / "journal"))
    missing = str(tmp_path / "nobody.sock")
    experiment = unique("aio-offline")

    async def offline() -> str:
        async with tally.aio.connect(missing) as client:
            run = await client.start_run(experiment)
            for step in range(500):
                run.log({"loss": float(step)}, step=step)
            await run.end()
            assert run.experiment_id == "" and run.journalled_points == 500
            assert Path(run.journal_path).exists()
            return run.journal_path

    path = asyncio.run(offline())
    with tally.connect(own_daemon.socket) as client:
        # The run's sender lets go of its journal once it finds its client closed.
        deadline = time.monotonic() + 10
        delivery = _journal.deliver(path, client)
        while delivery.in_use and time.monotonic() < deadline:
            time.sleep(0.05)
            delivery = _journal.deliver(path, client)
        assert delivery.delivered and delivery.acknowledged_points == 500
        info = client.get_run(Path(path).name.split("-")[0])
        assert info.status == "completed" and info.metrics["loss"].count == 500


def test_an_exception_in_the_block_fails_the_run(daemon, monkeypatch, tmp_path):
    monkeypatch.setenv("TALLY_JOURNAL", str(tmp_path / "journal"))

    async def main() -> str:
        async with tally.aio.connect(daemon.socket) as client:
            with pytest.raises(ValueError):
                async with await client.start_run(unique("aio-fail")) as run:
                    run.log({"loss": 1.0})
                    raise ValueError("boom")
            info = await client.get_run(run.id)
            assert info.status == "failed" and "boom" in info.error
            return run.id

    asyncio.run(main())
