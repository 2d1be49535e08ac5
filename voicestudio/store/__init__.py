"""The project store: schema, opening and migrating, and every read and write.

- ``project``: ``open_project`` / ``Project`` (``session()`` to read, ``write()`` to write)
- ``schema``: the tables; ``migrate``: schema versions and Alembic; ``sqlite``: SQLite engines
- ``clips``, ``labels``, ``models``, ``predictions``, ``devices``: plain functions taking a session
- ``backup``: a consistent copy of a live SQLite project; ``repair``: check a project file, recover a damaged one

Rules:
- Imports SQLAlchemy, Alembic and the shared helpers only (``errors``, ``files``, ``annotators``,
  ``staging``): never ``audio``, ``model``, ``dataset``, ``device`` or Qt (tests/test_layers.py checks Qt).
- All database writes live in this package. ``clips``, ``labels``, ``models``, ``predictions``
  and ``devices`` take the caller's session and never commit: an operation's writes go in one
  ``Project.write()`` transaction; reads use ``session()``.
- Label events are append-only: nothing is updated or deleted, undo is a new event.
"""
