"""The project store: schema, opening and migrating, and every read and write.

All database writes live in this package; callers pass a session from
``Project.write()`` (or ``Project.session()`` for reads).
"""
