"""Django's SQLite backend, with writers that take turns without SQLite's long sleeps
(``base.DatabaseWrapper``). settings.py names it as the ENGINE for SQLite."""
