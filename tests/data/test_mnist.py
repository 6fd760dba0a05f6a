"""MNIST IDX reader: parsing, checksum and corruption errors, the search order, the download path."""

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from rnnkit.data import mnist as M


def idx_bytes(a: np.ndarray) -> bytes:
    return (
        bytes([0, 0, 8, a.ndim])
        + struct.pack(f">{a.ndim}I", *a.shape)
        + a.astype(np.uint8).tobytes()
    )


def write_fake(d: Path, n_train=5, n_test=3, seed=0) -> dict[str, str]:
    """Four tiny IDX .gz files; returns the SHA-256 of their raw content by name."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)),
        "train_labels": rng.integers(0, 10, n_train),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)),
        "test_labels": rng.integers(0, 10, n_test),
    }
    d.mkdir(parents=True, exist_ok=True)
    sums = {}
    for key, fname in M.FILES.items():
        raw = idx_bytes(arrays[key])
        (d / fname).write_bytes(gzip.compress(raw))
        sums[fname[:-3]] = hashlib.sha256(raw).hexdigest()
    return sums


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No $RNNKIT_DATA, an empty checkout dir and an empty cache."""
    monkeypatch.delenv("RNNKIT_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(M, "checkout_dir", lambda: tmp_path / "checkout")
    return tmp_path


def test_parse_idx_reads_shape_and_values():
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    np.testing.assert_array_equal(M.parse_idx(idx_bytes(a)), a)


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"\x01\x00\x08\x01" + b"\x00" * 8, "not an IDX file"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x01" + b"\x00" * 4, "expected IDX type 0x08"),
        (b"\x00\x00\x08\x02\x00\x00", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "expected 5 data bytes"),
    ],
)
def test_parse_idx_rejects_malformed(raw, match):
    with pytest.raises(M.MnistCorruptError, match=match):
        M.parse_idx(raw, "f")


def test_checksum_mismatch_names_file(tmp_path):
    sums = write_fake(tmp_path)
    path = tmp_path / M.FILES["train_labels"]
    M.read_idx_gz(path, sums["train-labels-idx1-ubyte"])  # correct sum passes
    with pytest.raises(M.MnistCorruptError, match=r"train-labels-idx1-ubyte.gz fails its SHA-256"):
        M.read_idx_gz(path, "0" * 64)


def test_corrupt_gzip_names_file_and_fix(tmp_path):
    write_fake(tmp_path)
    bad = tmp_path / M.FILES["test_images"]
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(M.MnistCorruptError, match=r"cannot decompress .*t10k-images.*--data-dir"):
        M.load_mnist(tmp_path)


def test_sums_file_in_directory_is_checked(tmp_path):
    sums = write_fake(tmp_path)
    sums["t10k-labels-idx1-ubyte"] = "f" * 64
    (tmp_path / "SHA256SUMS.raw").write_text("".join(f"{v}  {k}\n" for k, v in sums.items()))
    with pytest.raises(M.MnistCorruptError, match="t10k-labels-idx1-ubyte.gz fails"):
        M.load_mnist(tmp_path)


def test_data_dir_missing_file_is_named(tmp_path):
    write_fake(tmp_path)
    (tmp_path / M.FILES["train_images"]).unlink()
    with pytest.raises(M.MnistNotFoundError, match="missing file .*train-images-idx3-ubyte.gz"):
        M.load_mnist(tmp_path)


def test_wrong_image_shape_is_rejected(tmp_path):
    write_fake(tmp_path)
    raw = idx_bytes(np.zeros((2, 27, 28)))
    (tmp_path / M.FILES["test_images"]).write_bytes(gzip.compress(raw))
    with pytest.raises(M.MnistCorruptError, match=r"expected images of shape \[N, 28, 28\]"):
        M.load_mnist(tmp_path)


def test_search_order(isolated, monkeypatch):
    t = isolated
    write_fake(t / "explicit", n_train=1)
    write_fake(t / "env" / "mnist", n_train=2)
    write_fake(t / "checkout", n_train=3)
    write_fake(t / "cache" / "rnnkit" / "mnist", n_train=4)
    monkeypatch.setenv("RNNKIT_DATA", str(t / "env"))
    assert len(M.load_mnist(t / "explicit").train_labels) == 1
    assert M.find_mnist() == ("$RNNKIT_DATA", t / "env" / "mnist")
    monkeypatch.delenv("RNNKIT_DATA")
    assert M.find_mnist() == ("checkout", t / "checkout")
    for f in (t / "checkout").iterdir():
        f.unlink()
    assert M.find_mnist() == ("cache", t / "cache" / "rnnkit" / "mnist")


def test_download_checks_raw_sha(isolated, monkeypatch):
    sums = write_fake(isolated / "mirror", n_train=6)
    monkeypatch.setattr(M, "SHA256_RAW", sums)
    data = M.load_mnist(mirrors=((isolated / "mirror").as_uri() + "/",))
    assert data.source == isolated / "cache" / "rnnkit" / "mnist"
    assert len(data.train_labels) == 6
    assert not list(data.source.glob(".*part"))  # no temporary files left behind


def test_download_with_bad_sha_fails_and_keeps_nothing(isolated, monkeypatch):
    sums = write_fake(isolated / "mirror")
    monkeypatch.setattr(M, "SHA256_RAW", dict.fromkeys(sums, "0" * 64))
    with pytest.raises(M.MnistNotFoundError, match="could not download train-images-idx3-ubyte.gz"):
        M.load_mnist(mirrors=((isolated / "mirror").as_uri() + "/",))
    assert not any((isolated / "cache" / "rnnkit" / "mnist").iterdir())


def test_no_download_error_lists_places(isolated):
    with pytest.raises(M.MnistNotFoundError, match="MNIST not found in .*checkout"):
        M.load_mnist(download=False)


def test_checkout_copy_is_canonical():
    """The committed data/mnist files pass the canonical raw SHA-256 (what a fresh clone trains on)."""
    d = M.load_mnist(M.checkout_dir())
    assert d.train_images.shape == (60000, 28, 28) and d.test_images.shape == (10000, 28, 28)
    for name, sha in M.SHA256_RAW.items():
        raw = gzip.decompress((M.checkout_dir() / f"{name}.gz").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == sha
