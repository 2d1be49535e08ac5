"""An annotator in its own process, labelling through the CLI's code path as fast as it can.

python tests/label_worker.py DB ANNOTATOR SEED ROUNDS CLIP_ID...

Each round calls ``voicestudio.cli.main(["label", ...])`` (the real command, in this
process so a round costs a label, not an interpreter start) with a value drawn from SEED,
and prints ``ACK <clip> <value> <round>`` once the command returned 0: the label is then
durable. Any failure (a non-zero exit, "locked" on stderr) is printed as ``FAIL``.
"""

import contextlib
import io
import random
import sys

from voicestudio.cli import main


def run(db: str, annotator: str, seed: int, rounds: int, clips: list[int]) -> int:
    rng = random.Random(seed)
    failures = 0
    for i in range(rounds):
        clip, value = rng.choice(clips), rng.choice(("human", "nonhuman"))
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["--db", db, "label", str(clip), value, "--annotator", annotator, "--note", f"{annotator}-{i}"])
        if code == 0 and "locked" not in err.getvalue().lower():
            print(f"ACK {clip} {value} {i}", flush=True)
        else:
            failures += 1
            print(f"FAIL {i} {code} {err.getvalue().strip()!r}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    db, annotator, seed, rounds, *clips = sys.argv[1:]
    sys.exit(run(db, annotator, int(seed), int(rounds), [int(c) for c in clips]))
