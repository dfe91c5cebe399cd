"""`tally watch run` against a real daemon."""
import json
import signal
import subprocess
import time

from conftest import tally_bin, tally_ok, wait_for, read_line




def test_watch_prints_a_line_per_step_and_the_final_status(daemon):
    tally_ok(daemon, "experiments", "create", "w", "-q")
    run = tally_ok(daemon, "runs", "start", "w", "--name", "live").strip()
    proc = subprocess.Popen([tally_bin(), "watch", "run", run, "--socket", daemon.socket],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = wait_for(proc, "watching run")
        assert first[-1].startswith(f"watching run live ({run}), running, started ")
        tally_ok(daemon, "runs", "log", run, "loss=0.5", "acc=0.25", "--step", "1")
        tally_ok(daemon, "runs", "log", run, "loss=0.125", "--step", "2")
        tally_ok(daemon, "runs", "end", run)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert "\x1b" not in out  # not a terminal: no escapes
    assert "step 1  acc=0.25  loss=0.5" in lines
    assert "step 2  loss=0.125" in lines
    assert any(line.startswith(f"run {run} completed after ") for line in lines)
    assert lines[-1] == "final   acc=0.25  loss=0.125"


def test_watch_json_lines_and_ended_run(daemon):
    tally_ok(daemon, "experiments", "create", "w", "-q")
    run = tally_ok(daemon, "runs", "start", "w").strip()
    tally_ok(daemon, "runs", "log", run, "x=1", "--step", "0")
    tally_ok(daemon, "runs", "end", run, "--status", "killed")
    out = tally_ok(daemon, "watch", "run", run, "--history", "--json")
    events = [json.loads(line) for line in out.splitlines()]
    assert "snapshot" in events[0]
    assert events[1]["points"]["values"] == [1]
    assert events[-1]["status"]["status"] == "RUN_STATUS_KILLED"


def test_ctrl_c_stops_watching_cleanly(daemon):
    tally_ok(daemon, "experiments", "create", "w", "-q")
    run = tally_ok(daemon, "runs", "start", "w").strip()
    proc = subprocess.Popen([tally_bin(), "watch", "run", run, "--socket", daemon.socket],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(proc, "watching run")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == ""
