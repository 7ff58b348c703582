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


@pytest.mark.parametrize("url,message", [
    ("postgresql://me:secret@db.example:notaport/x", "store URL: Port could not be cast"),
    ("postgresql://me@[::1/x", "store URL: Invalid IPv6 URL"),
    ("postgresql://me@db.example:99999/x", "store URL: Port out of range"),
    ("questdb://db.example:8812?http_port=nine", "http_port 'nine': expected a port number"),
])
def test_a_url_that_does_not_parse_is_a_store_error(url, message):
    # (before any connection is tried; the message never shows the password)
    with pytest.raises(StoreError, match=message) as e:
        cift.connect(url, cache=False)
    assert "secret" not in str(e.value)
    with pytest.raises(StoreError, match="cache URL: Port could not be cast"):
        cift.connect("lake:///tmp/x", cache="redis://:secret@localhost:notaport")


def test_questdb_url_parameters_it_does_not_read_are_named(recwarn):
    with pytest.raises(StoreError, match="cannot connect to QuestDB"):
        cift.connect("questdb://127.0.0.1:1?http_prot=9001", cache=False)
    assert "['http_prot'] ignored" in str(recwarn.pop(UserWarning).message)


def test_the_async_lake_documents_its_methods(tmp_path):
    # its methods are made by one helper: help() and a notebook's "?" showed (*args,
    # **kwargs) and no docstring
    import asyncio
    import inspect

    from cift.store.aio import AsyncStore

    async def open_and_read():
        store = await cift.connect_async(str(tmp_path / "lake"))
        try:
            assert await store.compact() == 0  # an extra of the lake's, in a thread
            return store, await store.ticks("X", "2024-01-01", columns=["ts", "price"])
        finally:
            await store.close()

    store, frame = asyncio.run(open_and_read())
    assert frame.columns == ["ts", "price"] and frame.height == 0
    for name in ("ticks", "bars", "write_ticks", "latest"):
        method = getattr(type(store), name)
        assert method.__doc__ == getattr(AsyncStore, name).__doc__
        assert "symbols" in inspect.signature(method).parameters or name == "write_ticks"
        assert inspect.iscoroutinefunction(method)
    assert store.compact.__doc__ == Lake.compact.__doc__ and Lake.compact.__doc__
    assert list(inspect.signature(store.compact).parameters) == list(
        inspect.signature(store.store.compact).parameters)
