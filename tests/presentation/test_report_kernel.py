"""The report's kernel client (issue 21): the missed wake-up that stalled report runs, its fix,
and the watchdog that recovers or fails a stalled notebook in bounded time.

The socket tests run a fake kernel (a ROUTER socket) against `WatchedChannel` in one event
loop. The race is built on purpose: the client waits for a reply, the reply is delivered while
the loop is blocked, then the client sends on the same socket (as nbclient does when it syncs
an Output widget mid-cell). Every wait is bounded with `asyncio.wait_for`; no assertion is on
a duration.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from queue import Empty

import pytest
import zmq
import zmq.asyncio
from jupyter_client.session import Session

from vramkit.report import kernel as report_kernel
from vramkit.report.kernel import KernelStalled, WatchedChannel

BOUND_S = 30
"""Outer bound of every wait here: reached only when a wake-up is lost (a failure)."""


def _run_loop(make_coro):
    """``asyncio.run(make_coro())`` on a thread of its own: the suite's other tests may leave an
    event loop running on this thread (nbclient, Playwright)."""
    out: dict = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(make_coro())
        except BaseException as err:  # re-raised on the test's thread
            out["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(4 * BOUND_S)
    assert not thread.is_alive(), "the event loop did not finish"
    if "error" in out:
        raise out["error"]
    return out["value"]


class _FakeKernel:
    """A ROUTER socket on 127.0.0.1 that answers as a kernel would, under test control."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.router = zmq.Context.instance().socket(zmq.ROUTER)
        self.router.linger = 0
        self.port = self.router.bind_to_random_port("tcp://127.0.0.1")

    def receive(self) -> tuple[list[bytes], dict]:
        assert self.router.poll(BOUND_S * 1000), "the fake kernel got no request"
        idents, msg = self.session.feed_identities(self.router.recv_multipart())
        return idents, self.session.deserialize(msg)

    def send(self, msg_type: str, content: dict, parent: dict, idents: list[bytes]) -> None:
        self.session.send(self.router, msg_type, content, parent, ident=idents)

    def close(self) -> None:
        self.router.close()


def _client(channel_cls: type[WatchedChannel], port: int, session: Session) -> WatchedChannel:
    sock = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(f"tcp://127.0.0.1:{port}")
    return channel_cls(sock, session)


async def _reply_then_send(channel: WatchedChannel, kernel: _FakeKernel) -> dict:
    """The stalled report's sequence: wait for a reply; the reply arrives while the loop is
    busy; the client sends a comm_msg on the same socket; then let the loop run."""
    session = channel.session
    channel.send(session.msg("execute_request", {"code": "panel()"}))
    idents, request = kernel.receive()
    waiter = asyncio.ensure_future(channel.get_msg(timeout=None))
    await asyncio.sleep(0.05)  # the receive is now pending on the socket
    kernel.send("execute_reply", {"status": "ok"}, request, idents)
    time.sleep(0.3)  # the loop is blocked: the reply is delivered and signalled meanwhile
    channel.send(session.msg("comm_msg", {"comm_id": "c", "data": {}}))
    return await asyncio.wait_for(waiter, BOUND_S)


def _run_race(channel_cls: type[WatchedChannel]) -> dict:
    session = Session(key=b"report-kernel-test")
    kernel = _FakeKernel(session)
    channel = _client(channel_cls, kernel.port, session)
    try:
        return _run_loop(lambda: _reply_then_send(channel, kernel))
    finally:
        channel.close()
        kernel.close()


def test_a_send_wakes_the_pending_receive(monkeypatch) -> None:
    """The fix alone (slices made longer than the bound): the send through the asyncio socket
    re-reads ZMQ_EVENTS and wakes the waiting receive."""
    monkeypatch.setattr(report_kernel, "POLL_SLICE_S", 3600.0)
    assert _run_race(WatchedChannel)["msg_type"] == "execute_reply"


def test_sliced_waits_recover_a_message_stranded_by_a_raw_send(monkeypatch) -> None:
    """The watchdog alone: with jupyter_client's own send (a synchronous shadow of the socket,
    the cause of the stall), the sliced wait still picks the reply up."""

    def raw_send(self, msg):
        self.session.send(self.socket, msg)

    monkeypatch.setattr(WatchedChannel, "send", raw_send)
    monkeypatch.setattr(report_kernel, "POLL_SLICE_S", 0.2)
    assert _run_race(WatchedChannel)["msg_type"] == "execute_reply"


class _Impatient(WatchedChannel):
    stall_after_s = 0.5


async def _status_then_silence(channel: WatchedChannel, kernel: _FakeKernel, state: str, timeout):
    session = channel.session
    channel.send(session.msg("execute_request", {"code": "x"}))
    idents, request = kernel.receive()
    kernel.send("status", {"execution_state": state}, request, idents)
    assert (await asyncio.wait_for(channel.get_msg(timeout=None), BOUND_S))["msg_type"] == "status"
    return await asyncio.wait_for(channel.get_msg(timeout=timeout), BOUND_S)


def _silence(state: str, timeout):
    session = Session(key=b"report-kernel-test")
    kernel = _FakeKernel(session)
    channel = _client(_Impatient, kernel.port, session)
    try:
        return _run_loop(lambda: _status_then_silence(channel, kernel, state, timeout))
    finally:
        channel.close()
        kernel.close()


def test_an_idle_silent_kernel_is_a_stall(monkeypatch) -> None:
    monkeypatch.setattr(report_kernel, "POLL_SLICE_S", 0.1)
    with pytest.raises(KernelStalled, match="idle and silent"):
        _silence("idle", timeout=None)


def test_a_comm_reported_idle_beside_a_running_cell_is_not_a_stall() -> None:
    """ipykernel 7 handles a widget's comm_msg beside a running cell and reports that request
    busy then idle: the kernel is still busy with the cell."""
    progress = report_kernel.KernelProgress(stall_after_s=0.0)

    def status(parent: str, state: str) -> dict:
        return {
            "msg_type": "status",
            "parent_header": {"msg_id": parent},
            "content": {"execution_state": state},
        }

    for msg in (status("cell", "busy"), status("comm", "busy"), status("comm", "idle")):
        progress.saw(msg)
    progress.check()  # silent past the bound, but busy with the cell: no stall
    progress.saw(status("cell", "idle"))
    with pytest.raises(KernelStalled):
        progress.check()


def test_a_busy_silent_kernel_is_not_a_stall(monkeypatch) -> None:
    """A long cell keeps its kernel busy: only the cell timeout ends that wait."""
    monkeypatch.setattr(report_kernel, "POLL_SLICE_S", 0.1)
    with pytest.raises(Empty):
        _silence("busy", timeout=1.5)


# ── the report: a stalled notebook is run once more, then failed with one line ─────────────
DROP_REPLY = """\
import pathlib
runs = pathlib.Path({marker!r})
runs.write_text(runs.read_text() + "run\\n" if runs.exists() else "run\\n")
if {always} or runs.read_text().count("run") == 1:
    kernel = get_ipython().kernel
    send = kernel.session.send

    def drop_execute_reply(stream, msg_type, content=None, parent=None, *args, **kwargs):
        if msg_type == "execute_reply":  # the kernel goes idle, the reply never leaves
            return {{"content": content}}
        return send(stream, msg_type, content, parent, *args, **kwargs)

    kernel.session.send = drop_execute_reply
"""


def _stalling_notebooks(folder: Path, marker: Path, *, always: bool) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder.mkdir()
    nb = new_notebook(
        cells=[
            new_code_cell("x = 1"),
            new_code_cell(DROP_REPLY.format(marker=str(marker), always=always)),
            new_code_cell("print(x + 1)"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "01_stall.ipynb")
    return folder


@pytest.mark.notebook
def test_a_stalled_notebook_is_rerun_once_then_failed_with_one_line(tmp_path) -> None:
    from vramkit.report import run_report

    marker = tmp_path / "runs.txt"
    nbs = _stalling_notebooks(tmp_path / "nbs", marker, always=True)
    report = run_report(tmp_path / "out", notebooks_dir=nbs, progress=False, stall_after_s=10)
    assert marker.read_text().count("run") == 2, "the notebook was not run a second time"
    [failed] = report.failed
    assert failed.ename == "KernelStalled"
    assert failed.cell_index == 1
    assert "\n" not in failed.error_line
    assert "stalled twice" in failed.error_line
    assert (tmp_path / "out" / "index.html").is_file()


@pytest.mark.notebook
def test_a_notebook_that_stalls_once_recovers(tmp_path, capsys) -> None:
    from vramkit.report import run_report

    marker = tmp_path / "runs.txt"
    nbs = _stalling_notebooks(tmp_path / "nbs", marker, always=False)
    report = run_report(tmp_path / "out", notebooks_dir=nbs, progress=False, stall_after_s=10)
    assert marker.read_text().count("run") == 2
    assert not report.failed
    said = capsys.readouterr().err
    assert "01_stall.ipynb: the kernel stalled" in said
    assert "in cell 1); running it once more on a new kernel" in said
    executed = json.loads((tmp_path / "out" / "01_stall.ipynb").read_text())
    assert "".join(executed["cells"][2]["outputs"][0]["text"]) == "2\n"
