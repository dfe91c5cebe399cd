"""Every ```python block of README.md and clients/python/README.md runs as written.

Each block runs in a fresh `python` process (this interpreter) in an empty temporary folder,
against a fresh daemon of its own (`own_daemon`), with `$TALLY_SOCKET` pointing at it, autostart
off and the journal in a temporary folder; it must exit with status 0. Blocks of other languages
(```sh, ```swift, plain ```) are not run.

An HTML comment on the line just before a block's fence changes how it runs:

- `<!-- snippet: continues -->`: the block goes on from the previous python block of the same
  file; it runs after that block's code (and, if that one continues too, after its own previous).
- `<!-- snippet: agent {"lr": [0.001, 0.01]} -->`: the block is a trial's program; it runs as the
  command of `tally agent SWEEP --parallel 2` on a grid sweep over the JSON object's values, and
  every trial must complete.
- `<!-- snippet: skip (reason) -->`: the block is not run; the reason is required.
"""
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

import tally
from conftest import REPO, Daemon, tally_bin

DOCUMENTS = [REPO / "README.md", REPO / "clients" / "python" / "README.md"]

_FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$")
_TIMEOUT = 240


@dataclass
class Snippet:
    document: Path
    line: int  # of the opening fence, 1-based
    code: str  # the block's own code, dedented
    marker: str = ""  # the text after `snippet:` in the comment before the fence, or ""
    previous: Optional["Snippet"] = None  # the previous python block of the same document

    @property
    def id(self) -> str:
        return f"{self.document.relative_to(REPO)}:{self.line}"

    def program(self) -> str:
        """The code to run: the block's, after its previous block's when it continues one."""
        if self.marker == "continues":
            if self.previous is None:
                raise ValueError(f"{self.id}: `snippet: continues` on the first python block of its file")
            return self.previous.program() + "\n\n" + self.code
        return self.code


def _dedent(lines: List[str], indent: str) -> str:
    return "\n".join(line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines) + "\n"


def extract(document: Path) -> Tuple[List[Snippet], List[str]]:
    """The python blocks of a Markdown file, and the problems found: a marker comment that is not
    just before a python block, a block that is never closed."""
    lines = document.read_text(encoding="utf-8").splitlines()
    snippets: List[Snippet] = []
    problems: List[str] = []
    marked: Dict[int, str] = {}  # line index of a marker comment -> its text
    for i, line in enumerate(lines):
        m = _MARKER.match(line)
        if m:
            marked[i] = m.group(1)
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, language = m.group(1), m.group(2), m.group(3).lower()
        end = i + 1
        while end < len(lines) and not (lines[end].strip().startswith(fence) and lines[end].strip().strip("`") == ""):
            end += 1
        if end == len(lines):
            problems.append(f"{document.relative_to(REPO)}:{i + 1}: a ``` block that is never closed")
            break
        if language == "python":
            marker = marked.pop(i - 1, "") if i > 0 else ""
            previous = snippets[-1] if snippets else None
            snippets.append(Snippet(document, i + 1, _dedent(lines[i + 1:end], indent), marker, previous))
        i = end + 1
    for index, text in sorted(marked.items()):
        problems.append(f"{document.relative_to(REPO)}:{index + 1}: `<!-- snippet: {text} -->` is not on the line "
                        "just before a ```python fence")
    return snippets, problems


def _all() -> Tuple[List[Snippet], List[str]]:
    snippets: List[Snippet] = []
    problems: List[str] = []
    for document in DOCUMENTS:
        found, wrong = extract(document)
        snippets += found
        problems += wrong
    return snippets, problems


SNIPPETS, PROBLEMS = _all()


def test_the_documents_have_python_snippets_and_well_placed_markers() -> None:
    assert not PROBLEMS, "\n".join(PROBLEMS)
    for document in DOCUMENTS:
        assert any(s.document == document for s in SNIPPETS), f"no ```python block found in {document}"


def _environment(daemon: Daemon, tmp: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env.update(
        TALLY_SOCKET=daemon.socket,
        TALLY_HOME=daemon.home,
        TALLY_JOURNAL=str(tmp / "journal"),
        TALLY_AUTOSTART="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def _report(what: str, proc: "subprocess.CompletedProcess[str]", program: str) -> str:
    numbered = "\n".join(f"{n:4d}  {line}" for n, line in enumerate(program.splitlines(), 1))
    return (f"{what} exited with status {proc.returncode}\n--- program ---\n{numbered}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")


_KINDS = re.compile(r"^(continues|skip|agent)\b\s*(.*)$", re.S)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.id for s in SNIPPETS])
def test_snippet_runs_as_written(snippet: Snippet, own_daemon: Daemon, tmp_path: Path) -> None:
    kind = _KINDS.match(snippet.marker) if snippet.marker else None
    if snippet.marker and kind is None:
        pytest.fail(f"{snippet.id}: unknown marker `<!-- snippet: {snippet.marker} -->` "
                    "(continues, skip (reason), agent {params})")
    if kind is not None and kind.group(1) == "skip":
        reason = kind.group(2).strip()
        if not (reason.startswith("(") and reason.endswith(")") and reason[1:-1].strip()):
            pytest.fail(f"{snippet.id}: `<!-- snippet: skip -->` needs a reason: `<!-- snippet: skip (why) -->`")
        pytest.skip(reason[1:-1].strip())
    if kind is not None and kind.group(1) == "continues" and kind.group(2).strip():
        pytest.fail(f"{snippet.id}: `<!-- snippet: continues -->` takes nothing after it")

    program = snippet.program()
    work = tmp_path / "work"
    work.mkdir()
    (work / "snippet.py").write_text(program, encoding="utf-8")
    env = _environment(own_daemon, tmp_path)

    if kind is not None and kind.group(1) == "agent":
        _run_under_an_agent(snippet, kind.group(2), program, own_daemon, work, env)
        return
    proc = subprocess.run([sys.executable, "snippet.py"], cwd=work, env=env, capture_output=True, text=True,
                          timeout=_TIMEOUT)
    assert proc.returncode == 0, _report(snippet.id, proc, program)


def _run_under_an_agent(snippet: Snippet, space_text: str, program: str, daemon: Daemon, work: Path,
                        env: Dict[str, str]) -> None:
    try:
        space = json.loads(space_text)
    except ValueError as e:
        pytest.fail(f"{snippet.id}: `<!-- snippet: agent ... -->` needs a JSON object of param values: {e}")
    if not isinstance(space, dict) or not space or not all(isinstance(v, list) and v for v in space.values()):
        pytest.fail(f"{snippet.id}: `<!-- snippet: agent ... -->` needs a JSON object of non-empty lists")
    with tally.connect(daemon.socket, autostart=False) as client:
        sweep = client.create_sweep(space, method="grid")
        proc = subprocess.run([tally_bin(), "agent", sweep.id, "--socket", daemon.socket, "--parallel", "2", "--",
                               sys.executable, "snippet.py"],
                              cwd=work, env=env, capture_output=True, text=True, timeout=_TIMEOUT)
        assert proc.returncode == 0, _report(f"{snippet.id} under `tally agent`", proc, program)
        results = sweep.wait(timeout=60)
        failed = [(t.number, t.status, t.error) for t in results.trials if t.status != "completed"]
        assert results.completed == results.total and not failed, \
            _report(f"{snippet.id} under `tally agent`: trials not completed {failed}", proc, program)
