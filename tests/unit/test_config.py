from pathlib import Path

import pytest

from cift.config import Settings, load_settings
from cift.errors import ConfigError


def test_defaults_to_home_dot_cift(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert s.home == Path("~/.cift").expanduser().resolve()
    assert s.store is None
    assert s.lake_dir == s.home / "lake" and s.runs_dir == s.home / "runs"


def test_env_overrides_toml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cift.toml").write_text('home = "from-toml"\nstore = "lake:///x"\n')
    s = load_settings({})
    assert s.home == (tmp_path / "from-toml").resolve() and s.store == "lake:///x"
    s = load_settings({"CIFT_HOME": str(tmp_path / "env"), "CIFT_STORE": "lake:///y"})
    assert s.home == tmp_path / "env" and s.store == "lake:///y"


def test_cift_config_names_the_file(tmp_path):
    cfg = tmp_path / "other.toml"
    cfg.write_text(f'home = "{tmp_path}/h"\n')
    assert load_settings({"CIFT_CONFIG": str(cfg)}).home == tmp_path / "h"


@pytest.mark.parametrize("text,match", [
    ("home = ", "not valid TOML"),
    ("colour = 'red'", "unknown setting"),
    ("home = 3", "must be a string"),
])
def test_bad_toml_is_a_config_error(tmp_path, text, match):
    cfg = tmp_path / "cift.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_settings({"CIFT_CONFIG": str(cfg)})


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not a file"):
        load_settings({"CIFT_CONFIG": str(tmp_path / "nope.toml")})


def test_settings_are_frozen_and_serializable(tmp_path):
    s = Settings(home=tmp_path, store=None)
    with pytest.raises(AttributeError):
        s.home = Path("/")  # type: ignore[misc]
    assert s.to_dict() == {"home": str(tmp_path), "store": None, "redis": None}


def test_redis_url_from_environment_and_toml(tmp_path):
    cfg = tmp_path / "cift.toml"
    cfg.write_text('redis = "redis://cache:6379/1"\n')
    assert load_settings({"CIFT_CONFIG": str(cfg)}).redis == "redis://cache:6379/1"
    env = {"CIFT_CONFIG": str(cfg), "CIFT_REDIS_URL": "redis://other:1/0"}
    assert load_settings(env).redis == "redis://other:1/0"
    assert load_settings({"CIFT_HOME": str(tmp_path)}).redis is None
