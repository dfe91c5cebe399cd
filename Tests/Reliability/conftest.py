"""Reliability tests: the real daemon binary under faults (a full disk, clients dying mid-call).
They share the helpers and fixtures of the CLI tests (Tests/CLI/conftest.py), loaded here as the
module `cli_support`."""
import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("cli_support", Path(__file__).resolve().parents[1] / "CLI" / "conftest.py")
cli_support = importlib.util.module_from_spec(_spec)
sys.modules["cli_support"] = cli_support
_spec.loader.exec_module(cli_support)

workdir = cli_support.workdir
daemon = cli_support.daemon
