"""One storage interface, two real backends: local files and S3 (moto's server)."""

import urllib.request

import pytest

from saas.config import storage_settings
from saas.storage import LocalStorage, StorageError, make_storage, tenant_key


@pytest.fixture(params=["file", "s3"])
def storage(request, tmp_path):
    if request.param == "file":
        return LocalStorage(str(tmp_path / "files"))
    return make_storage(storage_settings(request.getfixturevalue("s3_url")))


def test_put_read_exists_delete(storage):
    key = tenant_key(7, "invoices", "2026", "FE-1.xml")
    assert key == "tenants/7/invoices/2026/FE-1.xml"
    assert not storage.exists(key)
    storage.put(key, b"<Invoice/>", "application/xml")
    assert storage.exists(key)
    assert storage.read(key) == b"<Invoice/>"
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(StorageError):
        storage.read(key)


def test_streams_in_and_out(storage, tmp_path):
    import io

    key = tenant_key(1, "big.bin")
    data = bytes(range(256)) * 40_000  # 10 MB, more than one S3 part
    storage.put(key, io.BytesIO(data), "application/octet-stream")
    with storage.open(key) as stream:
        assert stream.read(1000) == data[:1000]
        assert stream.read() == data[1000:]


@pytest.mark.parametrize(
    "key",
    ["invoices/x.xml", "tenants/abc/x.xml", "tenants/1/../2/x.xml", "/tenants/1/x", "tenants/1/"],
)
def test_keys_must_start_with_the_tenant(storage, key):
    with pytest.raises(StorageError):
        storage.put(key, b"x", "text/plain")


def test_tenant_key_refuses_traversal():
    with pytest.raises(StorageError):
        tenant_key(1, "..", "etc")


def test_s3_creates_its_bucket_and_hands_out_short_lived_links(s3_url):
    storage = make_storage(storage_settings(s3_url))
    storage.ping()  # creates the bucket
    assert storage.client.bucket_exists(bucket_name=storage.bucket)
    key = tenant_key(3, "FE-1.pdf")
    storage.put(key, b"%PDF-1.7", "application/pdf")
    url = storage.download_url(key, "2026-01-31_FE 1.pdf", expires=60)
    assert "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"%PDF-1.7"
        disposition = response.headers["Content-Disposition"]
        assert disposition == "attachment; filename*=UTF-8''2026-01-31_FE%201.pdf"


def test_local_storage_has_no_direct_links(tmp_path):
    storage = LocalStorage(str(tmp_path))
    assert storage.download_url(tenant_key(1, "x"), "x") is None


def test_writer_streams_an_object_of_unknown_size(storage):
    key = tenant_key(5, "exports", "big.zip")
    with storage.writer(key, "application/zip") as out:
        for _ in range(300):
            out.write(b"x" * 65536)  # 19.7 MB, written in pieces
    assert storage.exists(key)
    with storage.open(key) as f:
        assert sum(len(chunk) for chunk in iter(lambda: f.read(1 << 20), b"")) == 300 * 65536


def test_writer_stores_nothing_when_writing_fails(storage):
    key = tenant_key(5, "exports", "broken.zip")
    with pytest.raises(RuntimeError), storage.writer(key, "application/zip") as out:
        out.write(b"half a zip")
        raise RuntimeError("the job died")
    assert not storage.exists(key)
