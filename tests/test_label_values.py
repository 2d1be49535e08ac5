"""One set of label values (store.schema.LABEL_VALUES): what the CLI accepts, what the database's
check allows and what the clip table counts are the same three values."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from audiofiles import speechlike, write
from voicestudio.dataset.cliptable import CODES
from voicestudio.dataset.labels import parse_value
from voicestudio.store.schema import LABEL_VALUES


def voicestudio(*args):
    return subprocess.run([sys.executable, "-m", "voicestudio", *map(str, args)], capture_output=True, text=True,
                          timeout=180)


def test_every_value_is_labelled_stored_and_counted_and_no_other(tmp_path):
    db = tmp_path / "p.vsproj"
    clip = write(tmp_path / "a.wav", speechlike(16000, 1.0), 16000)
    assert voicestudio("--db", db, "import", clip).returncode == 0

    for value in LABEL_VALUES:
        done = voicestudio("--db", db, "--json", "label", clip, value, "--annotator", f"by-{value}")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["value"] == value
    refused = voicestudio("--db", db, "label", clip, "maybe")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert all(value in refused.stderr for value in LABEL_VALUES)

    with sqlite3.connect(db) as connection:
        stored = [row[0] for row in connection.execute("SELECT value FROM label_events ORDER BY id")]
        assert stored == list(LABEL_VALUES)  # the refused one wrote nothing
        # The column's own check is built from the same tuple: a value outside it never lands.
        with pytest.raises(sqlite3.IntegrityError, match="ck_label_value"):
            connection.execute("INSERT INTO label_events (clip_id, annotator, value, created_at) "
                               "SELECT clip_id, 'x', 'maybe', created_at FROM label_events LIMIT 1")


def test_the_parser_and_the_clip_table_know_the_same_values():
    assert [parse_value(value.upper()) for value in LABEL_VALUES] == list(LABEL_VALUES)
    assert set(CODES) - {None} == set(LABEL_VALUES)
