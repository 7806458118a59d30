"""create_app with a test's config: every other key keeps its default, and instance/ is left alone.

A developer's instance/ holds their generated secrets and SQLite file; a test run that reads or
writes there shares state with the developer (and with other runs) that no test asked for.
"""
from __future__ import annotations

import pytest
from flask import Flask

from app import create_app
from config import CONFIG_SPECS
from tests.support.app import app_config, dispose


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """The app's instance/ is this folder, and the environment holds no configuration."""
    folder = tmp_path / "instance"
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(folder))
    for spec in CONFIG_SPECS.values():
        monkeypatch.delenv(spec.variable, raising=False)
    return folder


def test_a_test_config_neither_generates_secrets_into_instance_nor_reads_them(tmp_path, instance):
    app = create_app(app_config(tmp_path))
    try:
        assert app.instance_path == str(instance)
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        dispose(app)
    assert not instance.exists()


def test_a_test_config_without_secrets_gets_fresh_ones_and_leaves_instance_alone(tmp_path, instance):
    instance.mkdir()
    (instance / "secret_key").write_text("the-developer's-key\n")
    config = {key: value for key, value in app_config(tmp_path).items()
              if key not in ("SECRET_KEY", "ENCRYPTION_KEYS")}
    first, second = create_app(config), create_app(config)
    try:
        assert first.config["SECRET_KEY"] not in ("", "the-developer's-key", second.config["SECRET_KEY"])
        assert first.config["ENCRYPTION_KEYS"] and first.config["ENCRYPTION_KEYS"] != second.config["ENCRYPTION_KEYS"]
    finally:
        dispose(first)
        dispose(second)
    assert [p.name for p in instance.iterdir()] == ["secret_key"]


def test_a_partial_test_config_still_gets_every_default(tmp_path, instance):
    given = app_config(tmp_path)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": given["SQLALCHEMY_DATABASE_URI"],
                      "SECRET_KEY": given["SECRET_KEY"], "ENCRYPTION_KEYS": given["ENCRYPTION_KEYS"]})
    try:
        for spec in CONFIG_SPECS.values():
            assert spec.key in app.config, spec.key
            if spec.derive is None and spec.generate is None:
                assert app.config[spec.key] == spec.default, spec.key
        # Derived from the finished config, the test's part included.
        assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
        assert app.config["SESSION_COOKIE_SECURE"] is False
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    finally:
        dispose(app)
    assert not instance.exists()


def test_a_test_config_s_redis_url_chooses_where_rate_limits_are_counted(tmp_path, instance):
    app = create_app(app_config(tmp_path, REDIS_URL="redis://127.0.0.1:1/0", RATELIMIT_STORAGE_URI=None))
    try:
        assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/0"
    finally:
        dispose(app)
