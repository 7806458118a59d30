"""What the tests share, so that no test imports ``conftest`` or another test module.

- ``app``: the test config, the schema reset and the app teardown (SQLite by default, PostgreSQL via TEST_DATABASE_URL).
- ``servers``: a free port and the app served on loopback.
- ``console`` / ``api``: a console client signed in through the real form; an API caller with a key.
- ``messages`` / ``records``: a message sent through the core; the events and audit entries it left.
- ``clock``: the core's clock stopped at a chosen moment (used by the ``clock`` fixture).
- ``contexts``: the check behind the guard that fails a test leaving an app context pushed.
- ``fake_twilio`` / ``workers``: a Twilio-like HTTP server; `flask worker` subprocesses.

Always import these as ``tests.support.…`` (never ``support.…``): one module, one name.
"""
