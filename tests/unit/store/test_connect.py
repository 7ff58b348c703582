import pytest

import cift
from cift.errors import StoreError
from cift.store import Lake, register_store


def test_default_is_the_lake_under_cift_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFT_HOME", str(tmp_path))
    monkeypatch.delenv("CIFT_STORE", raising=False)
    store = cift.connect()
    assert isinstance(store, Lake) and store.root == tmp_path / "lake"


def test_cift_store_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFT_STORE", f"lake://{tmp_path}/elsewhere")
    assert cift.connect().root == tmp_path / "elsewhere"


def test_lake_urls_and_paths(tmp_path):
    assert cift.connect(f"lake://{tmp_path}/a").root == tmp_path / "a"
    assert cift.connect(str(tmp_path / "b")).root == tmp_path / "b"
    with cift.connect(f"file://{tmp_path}/c") as store:
        assert store.url == f"lake://{tmp_path}/c"


def test_unknown_scheme_lists_known_ones():
    with pytest.raises(StoreError, match=r"no store for URL scheme 'mongo://'.*lake"):
        cift.connect("mongo://host/db")
    with pytest.raises(StoreError, match="non-empty"):
        cift.connect("  ")


def test_registered_adapter_is_used(tmp_path):
    opened = []
    register_store("memo", lambda url: opened.append(url) or Lake(tmp_path / "m"))
    cift.connect("memo://x")
    assert opened == ["memo://x"]


def test_lake_in_unwritable_place(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot create the lake"):
        cift.connect(str(blocker / "lake"))
