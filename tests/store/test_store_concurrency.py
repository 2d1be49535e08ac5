"""Several processes writing labels to one project file at once."""

import multiprocessing

from sqlalchemy import text

from voicestudio.store import labels
from voicestudio.store.project import open_project

WORKERS = 3
ROUNDS = 30  # each round: a label, and every third round an undo (read, then write)


def _label_many(path, annotator, clip_ids, start):
    project = open_project(path)
    start.wait()  # all workers write at the same time
    for i in range(ROUNDS):
        clip = clip_ids[i % len(clip_ids)]
        with project.write() as s:
            labels.add_label(s, clip, annotator, ("human", "nonhuman")[i % 2])
        if i % 3 == 2:
            with project.write() as s:
                assert labels.undo_label(s, clip, annotator) is not None
        with project.session() as s:  # readers run alongside the writers
            labels.current_labels(s, annotator)
    project.close()


def test_concurrent_writers_lose_nothing_and_never_see_locked(tmp_path, make_clips):
    path = tmp_path / "shared.vsproj"
    with open_project(path) as project:
        ids = make_clips(project, 4)
    # fork is quick to start; spawn (Windows) re-imports everything in each child.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    start = ctx.Event()
    workers = [ctx.Process(target=_label_many, args=(str(path), f"ann{i}", ids, start)) for i in range(WORKERS)]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * WORKERS  # a "database is locked" would exit 1
    with open_project(path) as project, project.session() as s:
        assert labels.count_events(s) == WORKERS * (ROUNDS + ROUNDS // 3)
        for i in range(WORKERS):
            events = s.execute(text("SELECT count(*) FROM label_events WHERE annotator = :a"), {"a": f"ann{i}"})
            assert events.scalar() == ROUNDS + ROUNDS // 3
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
