"""Full and read-only disks, and what killed builds leave behind: the index is never lost and never
called damaged when it is not; each case is a Vietnamese message or a right answer, never a traceback.

The disks are real: a small tmpfs, and a read-only bind mount. Where this machine does not allow
mounting (no CAP_SYS_ADMIN), the same failures are injected at the system call the store makes
(``os.open`` refusing with EROFS/ENOSPC), so the checks below still run and can still fail.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import SEED, FakeEmbeddings

Q_GRDP = "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?"
GRDP_CLAUSE = "D2/K2/M2.1/CT1"


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _can_mount(tmp_path: Path) -> bool:
    """Whether real mounts work here (TLNQ_TEST_NO_MOUNT=1 tries the injected faults instead)."""
    if os.environ.get("TLNQ_TEST_NO_MOUNT"):
        return False
    probe = tmp_path / "probe-mount"
    probe.mkdir()
    if shutil.which("mount") is None or not _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)):
        return False
    subprocess.run(["umount", str(probe)], capture_output=True)
    return True


@pytest.fixture
def built(fake_seed_index):
    """The seed indexed with fake vectors (conftest); each test copies it."""
    return fake_seed_index


@pytest.fixture
def fake_models(monkeypatch, fake_embedder):
    import index.embed

    monkeypatch.setattr(index.embed, "make_embedder", lambda name, models_dir: fake_embedder)
    return fake_embedder


def _settings(index_dir: Path, tmp_path: Path):
    from core.config import Settings

    return Settings(index_dir=index_dir, embedding_model=FakeEmbeddings.name,
                    log_file=tmp_path / "q.log", feedback_file=tmp_path / "f.jsonl")


def _snapshot(index_dir: Path):
    return sorted((str(p.relative_to(index_dir)), p.stat().st_size) for p in index_dir.rglob("*") if p.is_file()
                  and p.name != "build.lock")


@contextmanager
def _refusing(monkeypatch, under: Path, code: int):
    """Injected fault: every write below ``under`` fails with ``code`` (EROFS or ENOSPC), in Python's
    ``open`` and in Chroma's own (Rust) SQLite, which reports it as an error message."""
    import builtins

    import chromadb

    prefix = str(under)
    real_open, real_client = builtins.open, chromadb.PersistentClient
    chroma_says = {errno.EROFS: "attempt to write a readonly database", errno.ENOSPC: "database or disk is full"}

    def guarded_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and str(os.fspath(file)).startswith(prefix) \
                and any(m in mode for m in "wax+"):
            raise OSError(code, os.strerror(code), str(file))
        return real_open(file, mode, *args, **kwargs)

    def guarded_client(path=None, *args, **kwargs):
        if str(path).startswith(prefix):
            raise RuntimeError(f"error returned from database: {chroma_says[code]}")
        return real_client(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(chromadb, "PersistentClient", guarded_client)
    try:
        yield
    finally:
        monkeypatch.setattr(builtins, "open", real_open)
        monkeypatch.setattr(chromadb, "PersistentClient", real_client)


@contextmanager
def read_only_copy(built: Path, tmp_path: Path, monkeypatch):
    """A copy of the index seen through a read-only mount (or with writes refused by EROFS)."""
    src = tmp_path / "src"
    shutil.copytree(built, src / "index")
    view = tmp_path / "ro"
    view.mkdir()
    if _can_mount(tmp_path) and _mount("--bind", str(src), str(view)):
        try:
            assert _mount("-o", "remount,bind,ro", str(view))
            yield view / "index"
        finally:
            subprocess.run(["umount", str(view)], capture_output=True)
    else:
        with _refusing(monkeypatch, src, errno.EROFS):
            yield src / "index"


@contextmanager
def full_disk_copy(built: Path, tmp_path: Path, monkeypatch):
    """A copy of the index on a disk with no space left (a filled tmpfs, or writes refused by ENOSPC)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if _can_mount(tmp_path) and _mount("-t", "tmpfs", "-o", "size=24m", "tmpfs", str(disk)):
        try:
            shutil.copytree(built, disk / "index")
            subprocess.run(["dd", "if=/dev/zero", f"of={disk / 'fill'}", "bs=1M"], capture_output=True)
            assert shutil.disk_usage(disk).free < 1024 * 1024
            yield disk / "index"
        finally:
            subprocess.run(["umount", str(disk)], capture_output=True)
    else:
        shutil.copytree(built, disk / "index")
        with _refusing(monkeypatch, disk, errno.ENOSPC):
            monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(1 << 30, 1 << 30, 0))
            yield disk / "index"


@pytest.mark.parametrize("disk", ["read-only", "full"])
def test_an_intact_index_on_a_refusing_disk_still_answers(built, tmp_path, monkeypatch, fake_models, disk):
    """Chroma cannot open its files in place there; that is not 'damaged': answers come from a copy."""
    from assistant.compose import make_assistant

    copy = read_only_copy if disk == "read-only" else full_disk_copy
    with copy(built, tmp_path, monkeypatch) as index_dir:
        before = _snapshot(index_dir)
        assistant = make_assistant(_settings(index_dir, tmp_path))
        answer = assistant.ask(Q_GRDP)
        assert GRDP_CLAUSE in [c.clause_id for c in answer.citations]
        assert any("bản sao tạm" in w for w in assistant.warnings), assistant.warnings
        assert not any("hỏng" in w for w in assistant.warnings)
        assert _snapshot(index_dir) == before


@pytest.mark.parametrize("disk", ["read-only", "full"])
def test_a_build_on_a_refusing_disk_is_a_message_and_keeps_the_index(built, tmp_path, monkeypatch, fake_models,
                                                                     disk):
    from index.build import build_index
    from core.errors import IndexingError

    copy = read_only_copy if disk == "read-only" else full_disk_copy
    with copy(built, tmp_path, monkeypatch) as index_dir:
        before = _snapshot(index_dir)
        with pytest.raises(IndexingError) as err:
            build_index([SEED], _settings(index_dir, tmp_path), fake_models.name, lambda: fake_models, force=True)
        message = err.value.user_message
        assert ("đầy" if disk == "full" else "Không ghi được vào thư mục chỉ mục") in message, message
        assert "giữ nguyên" in message
        assert _snapshot(index_dir) == before


def test_disk_filling_up_mid_build_leaves_no_half_generation(built, tmp_path, monkeypatch, fake_models):
    """The free-space estimate passed but the disk ran out while Chroma wrote: a message, the half-written
    generation removed at once, the previous one current and answering."""
    from assistant.compose import make_assistant
    from index.build import build_index
    from core.errors import DiskFullError
    from index.store import current_generation

    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    before = current_generation(index_dir)
    real_add = None

    def add_then_fail(self, *args, **kwargs):
        real_add(self, *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    from chromadb.api.models.Collection import Collection

    real_add = Collection.add
    monkeypatch.setattr(Collection, "add", add_then_fail)
    with pytest.raises(DiskFullError) as err:
        build_index([SEED], _settings(index_dir, tmp_path), fake_models.name, lambda: fake_models, force=True)
    monkeypatch.setattr(Collection, "add", real_add)
    assert "Ổ đĩa đã đầy" in err.value.user_message
    assert current_generation(index_dir) == before
    assert sorted(p.name for p in index_dir.iterdir() if p.is_dir()) == [before]
    assert GRDP_CLAUSE in [c.clause_id for c in make_assistant(_settings(index_dir, tmp_path)).ask(Q_GRDP).citations]


def test_not_enough_space_is_refused_before_embedding(built, tmp_path, monkeypatch, fake_models):
    import index.build
    from index.build import build_index
    from core.errors import DiskFullError

    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    before = _snapshot(index_dir)
    monkeypatch.setattr(index.build.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(1 << 30, 1 << 29, 4096))
    embedded = fake_models.calls
    with pytest.raises(DiskFullError) as err:
        build_index([SEED], _settings(index_dir, tmp_path), fake_models.name, lambda: fake_models, force=True)
    assert "không đủ chỗ" in err.value.user_message and "MB" in err.value.user_message
    assert fake_models.calls == embedded  # nothing embedded: the refusal came first
    assert _snapshot(index_dir) == before


def test_what_killed_builds_left_is_pruned_at_the_next_build(built, tmp_path, fake_models):
    """Orphans of kill -9 (a half-written generation, a finished one never made current, CURRENT.tmp)
    are removed by the next build; the current and the previous generation stay."""
    from index.build import build_index
    from index.store import CURRENT_FILE, current_generation

    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    current = current_generation(index_dir)
    older = "gen-19990101T000000000000-00000000"
    shutil.copytree(index_dir / current, index_dir / older)  # a finished earlier generation
    oldest = "gen-19980101T000000000000-00000000"
    shutil.copytree(index_dir / current, index_dir / oldest)
    half = index_dir / "gen-20990101T000000000000-11111111"
    (half / "chroma").mkdir(parents=True)  # no manifest: killed while writing
    orphan = "gen-20990102T000000000000-22222222"
    shutil.copytree(index_dir / current, index_dir / orphan)  # finished, killed before the swap
    (index_dir / (CURRENT_FILE + ".tmp")).write_text(orphan)

    report = build_index([SEED], _settings(index_dir, tmp_path), fake_models.name, lambda: fake_models)
    assert report.up_to_date  # nothing to rebuild: pruning alone
    left = sorted(p.name for p in index_dir.iterdir() if p.name not in ("build.lock", "DEPLOYMENT"))
    assert left == sorted([CURRENT_FILE, current, older])


# -- paths that are not what they claim -----------------------------------------------------------
def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    import sys

    from tests.conftest import REPO

    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, **env), timeout=300)


def test_a_symlink_loop_among_the_documents_is_named_and_the_rest_indexed(tmp_path):
    from index.build import parse_documents

    loop = tmp_path / "vong.txt"
    loop.symlink_to(loop)
    docs, failed = parse_documents([SEED, loop])
    assert [d.source.name for d in docs] == [SEED.name]
    assert failed[0].source.name == "vong.txt" and "liên kết vòng" in failed[0].user_message


@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
def test_a_bad_index_dir_is_a_message_for_ask_and_build(tmp_path, where):
    """TLNQ_INDEX_DIR naming a file (or a path under one): ask says there is no index, build says it
    cannot write there; exit 2, no traceback."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    index_dir = afile if where == "a-file" else afile / "index"
    env = {"TLNQ_INDEX_DIR": str(index_dir), "TLNQ_LOG_FILE": str(tmp_path / "q.log"), "HF_HUB_OFFLINE": "1"}
    asked = _cli("assistant", "ask", Q_GRDP, env=env)
    assert asked.returncode == 2 and "Traceback" not in asked.stderr
    assert "Chưa có chỉ mục" in asked.stderr
    built = _cli("index", "build", env=env)
    assert built.returncode != 0 and "Traceback" not in built.stderr + built.stdout
    assert "Không ghi được vào thư mục chỉ mục" in built.stderr + built.stdout
    assert afile.read_text() == "x"
