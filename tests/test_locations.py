"""One module decides the data, cache and settings folders, and every user of them agrees."""

import pytest

from facestudio import locations


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("FACESTUDIO_DATA", "FACESTUDIO_CACHE", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


@pytest.mark.skipif(not locations.sys.platform.startswith("linux"), reason="the XDG layout is Linux's")
def test_the_platform_folders_follow_xdg(clean_env, tmp_path):
    home = tmp_path / "home"
    assert locations.data_dir() == home / ".local" / "share" / "facestudio"
    assert locations.cache_dir() == home / ".cache" / "facestudio"
    assert locations.config_dir() == home / ".config" / "facestudio"
    clean_env.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    assert locations.data_dir() == tmp_path / "xdg-data" / "facestudio"
    assert locations.cache_dir() == tmp_path / "xdg-cache" / "facestudio"


def test_the_documented_variables_win_and_every_user_follows_them(clean_env, tmp_path):
    from facestudio.errors import record_internal_error
    from facestudio.latent.discovery_cache import cache_path
    from facestudio.models.store import ModelStore, models_root
    from facestudio.ui.app import data_folder
    clean_env.setenv("FACESTUDIO_DATA", str(tmp_path / "data"))
    clean_env.setenv("FACESTUDIO_CACHE", str(tmp_path / "cache"))
    assert locations.data_dir() == tmp_path / "data" and locations.cache_dir() == tmp_path / "cache"
    assert models_root() == ModelStore().root == tmp_path / "data" / "models"
    assert data_folder() == tmp_path / "data"  # the studio's autosave and log
    assert cache_path("ab" * 32).parent == tmp_path / "cache" / "directions"
    (tmp_path / "data").mkdir()
    try:
        raise KeyError("x")
    except KeyError as exc:
        assert record_internal_error(exc, "a test").parent == tmp_path / "data"


def test_an_empty_variable_is_unset(clean_env, tmp_path):
    clean_env.setenv("FACESTUDIO_DATA", "  ")
    assert locations.data_dir() != locations.Path("  ")
    assert locations.data_dir().name == "facestudio"
