"""Alembic migrations for :mod:`stargate.store.tables`, run by :mod:`stargate.store.migrate`."""
