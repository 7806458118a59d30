"""Configuration: generated development keys, strict production start."""
import pytest
from cryptography.fernet import Fernet

from config import ConfigError, load_config


def test_development_generates_keys_once_into_instance(tmp_path):
    first = load_config(str(tmp_path), env={})
    second = load_config(str(tmp_path), env={})
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) > 40
    assert first["ENCRYPTION_KEYS"] == second["ENCRYPTION_KEYS"]
    Fernet(first["ENCRYPTION_KEYS"][0])
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'sealed.db'}"
    assert first["SCHEDULER_ENABLED"] is True


def test_production_refuses_to_start_and_names_each_missing_secret(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(str(tmp_path), env={"SEALED_ENV": "production", "DATABASE_URL": "postgresql://x/y"})
    assert "SECRET_KEY" in str(error.value) and "ENCRYPTION_KEYS" in str(error.value)
    assert "DATABASE_URL" not in str(error.value)
    assert not (tmp_path / "secret_key").exists()


def test_environment_values_win_and_several_encryption_keys_are_read(tmp_path):
    keys = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    config = load_config(str(tmp_path), env={
        "SECRET_KEY": "s" * 50, "ENCRYPTION_KEYS": " , ".join(keys), "DATABASE_URL": "postgresql://u@h/db",
        "PUBLIC_BASE_URL": "https://msg.example.org/", "SCHEDULER_ENABLED": "0"})
    assert config["ENCRYPTION_KEYS"] == keys
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert config["PUBLIC_BASE_URL"] == "https://msg.example.org"
    assert config["SCHEDULER_ENABLED"] is False


def test_a_malformed_encryption_key_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not a Fernet key"):
        load_config(str(tmp_path), env={"ENCRYPTION_KEYS": "not-a-key"})


@pytest.mark.parametrize("env, message", [
    ({"SMTP_PORT": "twenty-five"}, "SMTP_PORT must be a whole number"),
    ({"DELIVERY_LEASE_SECONDS": "-5"}, "DELIVERY_LEASE_SECONDS must not be negative"),
    ({"EMAIL_TRANSPORT": "twilio"}, "EMAIL_TRANSPORT must be one of outbox, smtp"),
    ({"SMS_TRANSPORT": "smpt"}, "SMS_TRANSPORT must be one of outbox, twilio"),
    ({"SMTP_SECURITY": "ssl"}, "SMTP_SECURITY must be one of none, starttls, tls"),
    ({"SMS_TRANSPORT": "twilio", "TWILIO_ACCOUNT_SID": "AC1"}, "needs TWILIO_AUTH_TOKEN, TWILIO_FROM"),
    ({"API_RATE_LIMIT": "lots"}, "API_RATE_LIMIT must be a rate"),
    ({"VIEWER_POST_LIMIT": "10 per fortnight"}, "VIEWER_POST_LIMIT must be a rate"),
])
def test_a_bad_setting_stops_the_start_and_names_the_variable(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(str(tmp_path), env=env)


def test_rates_and_transports_are_read_from_the_environment(tmp_path):
    config = load_config(str(tmp_path), env={
        "API_RATE_LIMIT": "30/minute", "VIEWER_POST_LIMIT": "5 per minute", "EMAIL_TRANSPORT": " SMTP ",
        "SMTP_SECURITY": "StartTLS", "SMTP_PORT": "587", "SMS_RATE_PER_SECOND": "2.5"})
    assert config["API_RATE_LIMIT"] == "30/minute" and config["VIEWER_POST_LIMIT"] == "5 per minute"
    assert config["EMAIL_TRANSPORT"] == "smtp" and config["SMTP_SECURITY"] == "starttls"
    assert config["SMTP_PORT"] == 587 and config["SMS_RATE_PER_SECOND"] == 2.5


PRODUCTION = {"SEALED_ENV": "production", "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
              "DATABASE_URL": "postgresql://u@h/db", "PUBLIC_BASE_URL": "https://msg.example.org"}


def test_production_refuses_a_secret_key_shorter_than_32_characters_and_names_it(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_config(str(tmp_path), env={**PRODUCTION, "SECRET_KEY": "s" * 31})
    assert "SECRET_KEY must be at least 32 characters" in str(error.value)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path), env={**PRODUCTION, "SECRET_KEY": "  " + "s" * 30 + "  "})  # spaces do not count


def test_production_accepts_a_secret_key_of_32_characters_or_more(tmp_path):
    for key in ("s" * 32, "k" * 64):
        config = load_config(str(tmp_path), env={**PRODUCTION, "SECRET_KEY": key})
        assert config["SECRET_KEY"] == key and config["SEALED_ENV"] == "production"
        assert config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()  # nothing generated in production
