"""The report's kernel client: why a notebook run could stall, the fix, and the watchdog.

Why a report run stalled (found by tracing every message of a stalled run of
``02_kv_cache_growth`` on a loaded 2-core machine; jupyter_client 8.10, pyzmq 27.3,
nbclient 0.11, ipykernel 7.4):

1. nbclient mimics a front end for ``ipywidgets.Output``: when a widget cell's output is
   captured by an Output widget (``interactive_output`` panels), nbclient sends the widget's
   new state back to the kernel as a ``comm_msg`` **on the shell channel**, while its own
   task is still polling that same shell socket for the cell's ``execute_reply``.
2. ``jupyter_client.Session.send`` writes through a *synchronous shadow* of the asyncio
   socket (``zmq.Socket.shadow(stream.underlying)``). A libzmq send processes the socket's
   pending commands and so consumes the edge of its edge-triggered ``ZMQ_FD``; pyzmq's
   asyncio wrapper never sees that send, never re-reads ``ZMQ_EVENTS``, and its pending
   ``poll`` is not woken.
3. When the kernel's ``execute_reply`` lands in that window, which load widens, the reply
   sits in the client's socket while both sides are idle. The poll wakes only at its timeout,
   whose last ``poll(0)`` then finds the message: the traced cell finished after exactly the
   cell timeout (60.0 s, 90.0 s; the report's old default was 900 s), and a poll without a
   timeout (nbclient's IOPub reader) would never wake.

The fix (`WatchedChannel.send`): send through the asyncio socket itself, whose
``send_multipart`` re-reads ``ZMQ_EVENTS`` after a send and wakes a waiting receiver. The
watchdog, which does not rely on the fix: every wait polls in slices of `POLL_SLICE_S`
(pyzmq ends each slice with a plain ``poll(0)``, so a message stranded by any such race is
picked up within one slice), and a client that has heard nothing for `stall_after_s` seconds
while its kernel is idle raises `KernelStalled` (the report then restarts the kernel and runs
the notebook once more, `vramkit.report.run_notebook`).
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass, field
from queue import Empty
from typing import Any

import zmq
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.session import Session
from traitlets import Type, default

POLL_SLICE_S = 1.0
"""Longest single wait on a socket (seconds): each wait ends with a non-blocking check."""


class KernelStalled(Empty):
    """The kernel is idle and has sent nothing for `seconds` while the client waited.

    An `Empty` (what a timed-out wait raises), so nbclient ends the cell as on its own timeout
    and cleans up its tasks; nbclient's `CellTimeoutError` then carries this exception as its
    ``__context__`` (`stalled`)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the kernel was idle and silent for {seconds:.0f} s")
        self.seconds = seconds


@dataclass
class KernelProgress:
    """What one client has heard from its kernel: when it last spoke and which requests it is
    busy with (IOPub ``status`` messages, per parent request: the kernel handles a widget's
    ``comm_msg`` beside a running cell and reports that request idle while the cell runs on).

    The stall check is armed by the kernel's first message (until then the kernel start
    timeout governs); a request sent restarts the silence clock."""

    stall_after_s: float
    heard: bool = False
    busy: set[str] = field(default_factory=set)
    last_message: float = field(default_factory=time.monotonic)

    @property
    def idle(self) -> bool:
        """No request the kernel reported busy is still running."""
        return not self.busy

    def saw(self, msg: dict[str, Any]) -> None:
        """Record one message received from the kernel."""
        self.heard = True
        self.last_message = time.monotonic()
        if msg.get("msg_type") != "status":
            return
        parent = (msg.get("parent_header") or {}).get("msg_id", "")
        state = (msg.get("content") or {}).get("execution_state")
        if state == "busy":
            self.busy.add(parent)
        elif state == "idle":
            self.busy.discard(parent)

    def sent(self) -> None:
        """A request went out: the kernel has `stall_after_s` to answer from now."""
        self.last_message = max(self.last_message, time.monotonic())

    def check(self) -> None:
        """Raise `KernelStalled` when an idle kernel has been silent too long."""
        silent = time.monotonic() - self.last_message
        if self.heard and self.idle and silent >= self.stall_after_s:
            raise KernelStalled(silent)


_PROGRESS: weakref.WeakKeyDictionary[Session, KernelProgress] = weakref.WeakKeyDictionary()
"""One record per kernel client, keyed by the session its channels share."""


class _AsyncSend:
    """Hands `Session.send` the asyncio socket's own ``send_multipart`` (Session unwraps a
    ``zmq.asyncio.Socket`` into a synchronous shadow, which is the bug described above)."""

    def __init__(self, socket: zmq.asyncio.Socket) -> None:
        self._socket = socket

    def send_multipart(self, parts: list[Any], copy: bool = True, **kwargs: Any) -> Any:
        return self._socket.send_multipart(parts, copy=copy, **kwargs)


class WatchedChannel(AsyncZMQSocketChannel):
    """An asyncio channel whose sends wake its own pending receives and whose waits are
    sliced and watched (see the module docstring)."""

    stall_after_s: float = math.inf
    """Seconds of silence from an idle kernel that count as a stall (never, by default: the
    dashboard's kernel only gets the fix and the sliced waits)."""

    @property
    def progress(self) -> KernelProgress:
        record = _PROGRESS.get(self.session)
        if record is None:
            record = _PROGRESS[self.session] = KernelProgress(self.stall_after_s)
        return record

    def send(self, msg: dict[str, Any]) -> None:
        assert self.socket is not None
        self.progress.sent()
        self.session.send(_AsyncSend(self.socket), msg)

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        assert self.socket is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        progress = self.progress
        while True:
            wait = POLL_SLICE_S
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            if await self.socket.poll(int(wait * 1000)):
                msg = await self._recv()
                progress.saw(msg)
                return msg
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty
            if self.socket.type != zmq.SUB:  # IOPub waits end by nbclient's iopub_timeout
                progress.check()


class WatchedKernelClient(AsyncKernelClient):
    """An `AsyncKernelClient` with `WatchedChannel` on every channel and no stall bound: the
    dashboard's kernel client (``--ServerKernelManager.client_class``, tasks.py dashboard)."""

    shell_channel_class = Type(WatchedChannel)  # type: ignore[assignment]
    iopub_channel_class = Type(WatchedChannel)  # type: ignore[assignment]
    stdin_channel_class = Type(WatchedChannel)  # type: ignore[assignment]
    control_channel_class = Type(WatchedChannel)  # type: ignore[assignment]


def stalled(err: BaseException) -> KernelStalled | None:
    """The `KernelStalled` behind a timeout nbclient raised, if the timeout was a stall."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KernelStalled):
            return cause
        seen.add(id(cause))
        cause = cause.__context__
    return None


def kernel_manager_class(stall_after_s: float) -> type[AsyncKernelManager]:
    """An `AsyncKernelManager` whose clients use `WatchedChannel` on every channel, with
    the given stall bound (seconds); passed to nbclient as ``kernel_manager_class``."""
    bound = float(stall_after_s)

    class ReportChannel(WatchedChannel):
        stall_after_s = bound

    class ReportKernelClient(AsyncKernelClient):
        shell_channel_class = Type(ReportChannel)  # type: ignore[assignment]
        iopub_channel_class = Type(ReportChannel)  # type: ignore[assignment]
        stdin_channel_class = Type(ReportChannel)  # type: ignore[assignment]
        control_channel_class = Type(ReportChannel)  # type: ignore[assignment]

    class ReportKernelManager(AsyncKernelManager):
        @default("client_factory")
        def _client_factory_default(self) -> type[AsyncKernelClient]:
            return ReportKernelClient

    return ReportKernelManager
