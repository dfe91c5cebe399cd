"""Names, tags, params and errors hold whatever a client stored, control characters included (and
older stores hold them too): the CLI prints them escaped (ESC as \\x1b, BEL as \\x07, newline as
\\n), never raw, in its tables and its plain-text lines. `--json` escapes them as JSON does."""
import json
import subprocess

import tally

from conftest import run_tally, table_rows, tally_fails, tally_ok

# Retitles the terminal, rings the bell, clears the screen, and forges a line of output.
EVIL = "evil\x1b]0;pwned\x07\x1b[2J\nforged\rline\tend\u202e"
SHOWN = "evil\\x1b]0;pwned\\x07\\x1b[2J\\nforged\\rline\\tend\\u{202E}"
RAW = ("\x1b", "\x07", "\r", "\u202e")


def assert_clean(text):
    for char in RAW:
        assert char not in text, repr(text)
    assert "forged" not in [line.strip() for line in text.splitlines()]


def test_control_characters_are_printed_escaped(daemon):
    client = tally.connect(daemon.socket)
    with client.start_run(EVIL, name=EVIL, params={"p": EVIL}, tags={"k": EVIL}) as run:
        run.log({"loss": 0.5})
        run_id = run.id
    client.close()

    listed = tally_ok(daemon, "experiments", "ls")
    assert_clean(listed)
    assert SHOWN in listed
    shown = tally_ok(daemon, "experiments", "show", EVIL)
    assert_clean(shown)
    assert SHOWN in shown

    runs = tally_ok(daemon, "runs", "ls", "--experiment", EVIL)
    assert_clean(runs)
    assert SHOWN in runs
    details = tally_ok(daemon, "runs", "show", run_id)
    assert_clean(details)
    assert details.count(SHOWN) >= 3  # name, param value, tag value
    tags = tally_ok(daemon, "runs", "tag", run_id, "x=1")
    assert_clean(tags)
    assert SHOWN in tags

    # Plain-text lines and error messages too.
    created = tally_ok(daemon, "experiments", "create", "second" + EVIL)
    assert_clean(created)
    assert created.startswith("created experiment second" + SHOWN)
    missing = tally_fails(daemon, "experiments", "show", "missing" + EVIL)
    assert "NOT_FOUND" in missing.stderr
    assert_clean(missing.stderr)

    # JSON keeps the exact value, escaped the JSON way.
    out = tally_ok(daemon, "experiments", "show", EVIL, "--json")
    assert "\x1b" not in out and json.loads(out)["name"] == EVIL
