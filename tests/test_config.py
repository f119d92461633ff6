"""Configuration: file plus environment, typed, and refusing unsafe production settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohortvault import config
from cohortvault.config import ConfigurationError, load


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / config.CONFIG_FILE_NAME).write_text(text)
    return tmp_path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    loaded = load(tmp_path, environ={})
    assert loaded.production is False
    assert loaded.session_idle_timeout == 1800
    assert loaded.allowed_hosts == ["127.0.0.1", "localhost", "[::1]"]


def test_file_values_and_environment_overrides(tmp_path: Path) -> None:
    write(tmp_path, 'secret_key = "s"\nsession_idle_timeout = 600\n')
    loaded = load(
        tmp_path,
        environ={
            "COHORTVAULT_SESSION_IDLE_TIMEOUT": "900",
            "COHORTVAULT_HTTPS": "yes",
            "COHORTVAULT_ALLOWED_HOSTS": "vault.example.org, localhost",
            "COHORTVAULT_DATABASE_URL": "postgres://u@h/db",
        },
    )
    assert loaded.session_idle_timeout == 900
    assert loaded.https is True
    assert loaded.allowed_hosts == ["vault.example.org", "localhost"]
    assert loaded.database_url == "postgres://u@h/db"


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("production = true\n", {}, "secret_key"),
        (f'production = true\nsecret_key = "{config.INSECURE_SECRET_KEY}"\n', {}, "secret_key"),
        ('production = true\nsecret_key = "short"\n', {}, "40 characters"),
        ("", {"COHORTVAULT_PRODUCTION": "true", "COHORTVAULT_SECRET_KEY": ""}, "secret_key"),
        ("session_idle_timeout = 100000\n", {}, "cannot exceed"),
        ("session_max_age = 0\n", {}, "positive"),
        ("no_such_setting = 1\n", {}, "unknown settings"),
        ('session_idle_timeout = "ten"\n', {}, "must be of type"),
        ("production = [\n", {}, "cohortvault.toml"),
        ("", {"COHORTVAULT_SESSION_MAX_AGE": "soon"}, "integer"),
        ("", {"COHORTVAULT_HTTPS": "perhaps"}, "true or false"),
    ],
)
def test_unsafe_or_malformed_configuration_is_refused(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigurationError, match=message):
        load(tmp_path, environ=environ)


def test_production_with_a_real_secret_loads(tmp_path: Path) -> None:
    write(tmp_path, f'production = true\nsecret_key = "{"x" * 50}"\n')
    assert load(tmp_path, environ={}).production


def test_written_config_is_private_and_loads(tmp_path: Path) -> None:
    path = config.write_initial(tmp_path, secret_key="k" * 50, extra={"production": True})
    assert path.stat().st_mode & 0o777 == 0o600
    assert load(tmp_path, environ={}).secret_key == "k" * 50
    with pytest.raises(FileExistsError):
        config.write_initial(tmp_path, secret_key="again")


def test_every_setting_is_described() -> None:
    for name, _default, help_text in config.Config.descriptions():
        assert len(help_text) > 20, name
