"""The project store: schema, opening and migrating, and every read and write.

- ``project``: ``open_project`` / ``Project`` (``session()`` to read, ``write()`` to write)
- ``schema``: the tables; ``migrate``: schema versions and Alembic; ``sqlite``: SQLite engines
- ``clips``, ``labels``, ``models``, ``predictions``, ``devices``: plain functions taking a session
- ``backup``: a consistent copy of a live SQLite project; ``repair``: check a project file, recover a damaged one

All database writes live in this package; callers pass a session from
``Project.write()``. Nothing here imports Qt.
"""
