"""The CLI on a terminal: colour (and when it is off) and `watch run` within the terminal's width,
checked on a pseudo-terminal of a known size with a terminal emulator (pyte)."""
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

import pyte

from conftest import run_tally, tally_bin, tally_ok

ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Terminal:
    """A command whose standard output is a pseudo-terminal of `columns` × `rows`."""

    def __init__(self, args, columns=80, rows=24, env=None):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        full_env.update({"TERM": "xterm-256color"}, **(env or {}))
        self.proc = subprocess.Popen([tally_bin(), *args], stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     env=full_env)
        os.close(slave)
        self.raw = b""
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)

    def read(self, until=None, timeout=20.0):
        """Reads what the command printed until `until` appears (or it exits); returns all of it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until is not None and until in self.raw.decode(errors="replace"):
                break
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the command exited and closed its end
                break
            if not chunk:
                break
            self.raw += chunk
            self.stream.feed(chunk)
        return self.raw.decode(errors="replace")

    def finish(self, timeout=20.0):
        out = self.read(timeout=timeout)
        self.proc.wait(timeout=timeout)
        os.close(self.master)
        return out

    def lines(self):
        """The screen's non-empty lines, right-trimmed."""
        return [line.rstrip() for line in self.screen.display if line.strip()]


def statuses(daemon):
    tally_ok(daemon, "experiments", "create", "colours", "-q")
    done = tally_ok(daemon, "runs", "start", "colours", "--name", "good").strip()
    tally_ok(daemon, "runs", "log", done, "acc=0.9", "--step", "0")
    tally_ok(daemon, "runs", "end", done)
    bad = tally_ok(daemon, "runs", "start", "colours", "--name", "bad").strip()
    tally_ok(daemon, "runs", "log", bad, "acc=0.2", "--step", "0")
    tally_ok(daemon, "runs", "end", bad, "--status", "failed", "--error", "diverged")
    return done, bad


def test_statuses_are_coloured_on_a_terminal_and_tables_stay_aligned(daemon):
    done, bad = statuses(daemon)
    term = Terminal(["runs", "ls", "--socket", daemon.socket])
    out = term.finish()
    assert term.proc.returncode == 0
    assert "\x1b[32mcompleted\x1b[0m" in out and "\x1b[31mfailed\x1b[0m" in out
    piped = tally_ok(daemon, "runs", "ls")
    assert "\x1b" not in piped
    # Without the escapes the table is the one printed to a pipe: colour does not shift columns.
    assert ESCAPE.sub("", out).replace("\r\n", "\n").strip() == piped.strip()

    shown = Terminal(["runs", "show", bad, "--socket", daemon.socket]).finish()
    assert "\x1b[31mfailed\x1b[0m" in shown


def test_compare_colours_the_best_and_worst_values(daemon):
    done, bad = statuses(daemon)
    tally_ok(daemon, "experiments", "update", "colours", "--goal", "acc=max")
    out = Terminal(["compare", done, bad, "--socket", daemon.socket]).finish()
    assert "\x1b[32m0.9\x1b[0m" in out and "\x1b[31m0.2\x1b[0m" in out
    assert "\x1b[32mgood (0.9)\x1b[0m" in out and "\x1b[31mbad (0.2)\x1b[0m" in out


def test_no_color_and_the_flag_turn_colour_off(daemon):
    statuses(daemon)
    for env, extra in (({"NO_COLOR": "1"}, []), ({}, ["--no-color"]), ({"TERM": "dumb"}, [])):
        term = Terminal(["runs", "ls", "--socket", daemon.socket, *extra], env=env)
        out = term.finish()
        assert term.proc.returncode == 0 and "completed" in out
        assert "\x1b[" not in out, (env, extra)


def test_watch_run_fits_the_terminal_width(daemon):
    tally_ok(daemon, "experiments", "create", "wide", "-q")
    run = tally_ok(daemon, "runs", "start", "wide", "--name", "wide").strip()
    keys = ["train/loss", "train/accuracy_top1", "validation/loss", "validation/accuracy_top5"]
    term = Terminal(["watch", "run", run, "--socket", daemon.socket], columns=80, rows=24)
    try:
        term.read(until="watching run")
        for step in range(12):
            tally_ok(daemon, "runs", "log", run, *[f"{k}={step + i / 3:.6f}" for i, k in enumerate(keys)],
                     "--step", str(step))
            time.sleep(0.05)
        term.read(until="step 11", timeout=10)
        tally_ok(daemon, "runs", "end", run)
        out = term.finish()
    finally:
        term.proc.kill()
    assert term.proc.returncode == 0, term.proc.stderr.read().decode() if term.proc.stderr else ""
    # No segment of output is wider than the terminal, so nothing wrapped…
    for segment in re.split(r"[\r\n]", ESCAPE.sub("", out)):
        assert len(segment) < 80, segment
    # …and the redrawn values stayed in place: the screen holds the header, the last step's
    # values on two lines, the end and the final values, not a line per update.
    lines = term.lines()
    step_lines = [line for line in lines if line.startswith("step ")]
    assert step_lines == [line for line in lines if line.startswith("step 11")], lines
    assert len(lines) <= 7, lines
    shown = " ".join(lines)
    for key in keys:
        assert f"{key}=" in shown
    assert any(line.startswith(f"run {run} completed after ") for line in lines)
