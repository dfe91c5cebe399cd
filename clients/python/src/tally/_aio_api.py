"""The high-level API for asyncio: `AsyncRun` and the run and query methods of `tally.aio`.

An `AsyncRun` is the threaded `Run` behind an awaitable face: `log` is the same call (it never
waits on I/O), and everything that waits (flush, end, params, tags, artifacts, queries) is
awaited on a worker thread. The run's sender, its journal and its accounting are therefore the
very same code as in the threaded API, and the journal's file writes and syncs never run on the
event loop. Queries go through the same threaded client, so answers are converted once
(`RunInfo`, `History`, `Comparison`).
"""

import asyncio
import os
from typing import TYPE_CHECKING, Any, Iterable, List, Mapping, Optional, Union

from tally._convert import Comparison, HistoryDict, RunInfo, RunList
from tally._media import Image
from tally._run import Run
from tally.v1 import tracking_pb2

if TYPE_CHECKING:
    from tally._api import Client


class AsyncRun:
    """A run this process logs to, for asyncio code. Use it as an async context manager:

        async with await client.start_run("exp", params={...}) as run:
            run.log({"loss": loss}, step=step)      # not awaited: returns at once

    Leaving the block flushes and ends the run `completed`, or `failed` with the exception's
    text. The counters (`acknowledged_points`, `journalled_points`, `refused_points`,
    `buffered_points`) are the threaded `Run`'s."""

    def __init__(self, run: Run) -> None:
        self.run = run

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def experiment_id(self) -> str:
        return self.run.experiment_id

    @property
    def acknowledged_points(self) -> int:
        return self.run.acknowledged_points

    @property
    def journalled_points(self) -> int:
        return self.run.journalled_points

    @property
    def refused_points(self) -> int:
        return self.run.refused_points

    @property
    def buffered_points(self) -> int:
        return self.run.buffered_points

    @property
    def journal_path(self) -> str:
        return self.run.journal_path

    def log(self, metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Records metric values; returns at once (see `Run.log`). Blocks only under
        back-pressure (`max_buffered_points` waiting for the daemon)."""
        self.run.log(metrics, step)

    def log_columns(self, columns: Mapping[str, Any], steps: Optional[Iterable[int]] = None) -> int:
        """Records whole columns at once; returns at once (see `Run.log_columns`)."""
        return self.run.log_columns(columns, steps)

    async def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every point logged so far is acknowledged, refused or journalled (see `Run.flush`)."""
        await asyncio.to_thread(self.run.flush, timeout)

    async def end(self, status: str = "completed", error: str = "", *, timeout: Optional[float] = None) -> None:
        """Delivers what was logged and ends the run (see `Run.end`)."""
        await asyncio.to_thread(self.run.end, status, error, timeout=timeout)

    async def log_params(self, params: Mapping[str, Any]) -> int:
        return await asyncio.to_thread(self.run.log_params, params)

    async def set_tags(self, tags: Union[Mapping[str, Any], Iterable[str]], remove: Iterable[str] = ()) -> None:
        await asyncio.to_thread(self.run.set_tags, tags, remove)

    async def log_artifact(self, path: Union[str, "os.PathLike[str]"], name: Optional[str] = None, *,
                           type: str = "other", aliases: Iterable[str] = (),
                           metadata: Optional[Mapping[str, str]] = None) -> tracking_pb2.Artifact:
        return await asyncio.to_thread(self.run.log_artifact, path, name, type=type, aliases=aliases, metadata=metadata)

    async def log_image(self, key: str, image: Any, step: Optional[int] = None) -> tracking_pb2.Artifact:
        """Stores an image (see `Run.log_image`); encoding and upload run on a worker thread."""
        return await asyncio.to_thread(self.run.log_image, key, image, step)

    async def images(self, key: str) -> List[Image]:
        return await asyncio.to_thread(self.run.images, key)

    async def log_table(self, key: str, rows: Any, step: Optional[int] = None, *,
                        format: Optional[str] = None) -> tracking_pb2.Artifact:
        """Stores a table (see `Run.log_table`) from a worker thread."""
        return await asyncio.to_thread(self.run.log_table, key, rows, step, format=format)

    async def table(self, key: str, step: Optional[int] = None, *, as_pandas: bool = False) -> Any:
        return await asyncio.to_thread(self.run.table, key, step, as_pandas=as_pandas)

    async def info(self) -> RunInfo:
        return await asyncio.to_thread(self.run.info)

    async def history(self, keys: Optional[Iterable[str]] = None, *, max_points: int = 0) -> HistoryDict:
        return await asyncio.to_thread(self.run.history, keys, max_points=max_points)

    async def __aenter__(self) -> "AsyncRun":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await asyncio.to_thread(self.run.__exit__, exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"<tally.aio.AsyncRun {self.run.id} {self.run.name!r}>"


class AsyncRunAPI:
    """The run and query methods of `tally.aio.AsyncClient`, over a threaded `Client` on the
    same address, with the same token and TLS settings (made on first use)."""

    channel: Any  # the AsyncChannel
    _sync_client: "Optional[Client]" = None

    def _sync(self) -> "Client":
        if self._sync_client is None:
            from tally._api import Client
            from tally._transport import Channel
            ch = self.channel
            self._sync_client = Client(Channel(url=ch.address.url if ch.address.remote else None,
                                               socket=None if ch.address.remote else ch.address.path,
                                               token=ch.token, ca=ch.ca, tls_context=ch.tls_context,
                                               daemon_uid=ch.daemon_uid))
        return self._sync_client

    def _close_sync(self) -> None:
        client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    async def start_run(self, experiment: str = "default", *, name: str = "", params: Optional[Mapping[str, Any]] = None,
                        tags: Union[Mapping[str, Any], Iterable[str], None] = None,
                        parent: Union[AsyncRun, Run, str, None] = None, capture_env: Optional[bool] = None,
                        capture_diff: bool = False, system_metrics: Optional[bool] = None,
                        system_metrics_interval: float = 10.0,
                        **options: Any) -> AsyncRun:
        """Starts a run (see `tally.start_run`: the environment is captured and system metrics
        are sampled unless turned off); offline when the daemon cannot be reached."""
        parent_ref = parent.run if isinstance(parent, AsyncRun) else parent
        run = await asyncio.to_thread(self._sync().start_run, experiment, name=name, params=params, tags=tags,
                                      parent=parent_ref, capture_env=capture_env, capture_diff=capture_diff,
                                      system_metrics=system_metrics, system_metrics_interval=system_metrics_interval,
                                      **options)
        return AsyncRun(run)

    async def resume_run(self, run_id: str, **options: Any) -> AsyncRun:
        """Reopens a run (see `tally.resume_run`)."""
        return AsyncRun(await asyncio.to_thread(self._sync().resume_run, run_id, **options))

    async def get_run(self, run_id: str) -> RunInfo:
        return await asyncio.to_thread(self._sync().get_run, run_id)

    async def search_runs(self, filter: str = "", *, experiments: Union[str, Iterable[str], None] = None,
                          order_by: Union[str, Iterable[str], None] = None,
                          max_results: Optional[int] = None) -> RunList:
        return await asyncio.to_thread(self._sync().search_runs, filter, experiments=experiments, order_by=order_by,
                                       max_results=max_results)

    async def history(self, run_id: str, keys: Optional[Iterable[str]] = None, *,
                      max_points: int = 0) -> HistoryDict:
        return await asyncio.to_thread(self._sync().history, run_id, keys, max_points=max_points)

    async def compare(self, runs: Iterable[Union[str, AsyncRun, Run, RunInfo]] = (), *,
                      experiments: Union[str, Iterable[str], None] = None) -> Comparison:
        refs = [r.run if isinstance(r, AsyncRun) else r for r in runs]
        return await asyncio.to_thread(self._sync().compare, refs, experiments=experiments)
