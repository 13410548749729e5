"""The persistent index: generations of (Chroma collection + clauses.jsonl + manifest).

A build writes a new generation and then swaps one pointer file (CURRENT), so a
build that fails or is killed half-way never touches the index in use.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import IndexMismatchError, IndexMissingError, StoreUnavailableError
from index.parse import SCHEMA_VERSION

log = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
CLAUSES_FILE = "clauses.jsonl"
CHUNKS_FILE = "chunks.jsonl"
_GENERATION = re.compile(r"gen-[A-Za-z0-9_-]+")


def chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def make_client(gen_dir: Path, settings):
    """Embedded Chroma inside the generation folder, or the configured Chroma server.

    The server client connects at once: an unreachable server is a StoreUnavailableError naming it,
    not chromadb's ValueError nor a 'damaged index'.
    """
    import chromadb

    if settings.chroma_host:
        headers = {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl,
                headers=headers, settings=chroma_settings(),
            )
        except Exception as exc:
            where = f"{settings.chroma_host}:{settings.chroma_port}"
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {where}: {exc}",
                f"Không kết nối được máy chủ Chroma tại {where}. Hãy kiểm tra máy chủ đang chạy "
                "và cấu hình TLNQ_CHROMA_HOST/TLNQ_CHROMA_PORT.",
            ) from exc
    return chromadb.PersistentClient(path=str(gen_dir / "chroma"), settings=chroma_settings())


def collection_prefix(index_dir: Path) -> str:
    """'clauses-<10 hex>-': several index folders may share one Chroma server without touching
    each other's collections (the hash is of the resolved index folder)."""
    digest = hashlib.sha1(str(Path(index_dir).resolve()).encode("utf-8")).hexdigest()[:10]
    return f"clauses-{digest}-"


def collection_name(generation: str, index_dir: Path) -> str:
    # Chroma names: 3-512 chars of [a-zA-Z0-9._-]; one collection per generation and index folder.
    return f"{collection_prefix(index_dir)}{generation}"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def current_generation(index_dir: Path) -> str | None:
    """The generation CURRENT names, or None when there is none that could be opened.

    A pointer that is not UTF-8, is not a generation name or names a missing folder is no index
    (which the caller rebuilds), never an exception.
    """
    pointer = Path(index_dir) / CURRENT_FILE
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not _GENERATION.fullmatch(name):
        return None
    return name if (Path(index_dir) / name / MANIFEST_FILE).is_file() else None


def _load_manifest(gen_dir: Path) -> dict:
    """manifest.json as a dict; ValueError (or OSError) when it is not one."""
    manifest = json.loads((gen_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("documents"), list):
        raise ValueError(f"{gen_dir / MANIFEST_FILE} is not an index manifest")
    return manifest


def read_manifest(index_dir: Path) -> dict | None:
    """The current manifest, or None when there is none or it cannot be read (a rebuild fixes it)."""
    generation = current_generation(index_dir)
    if generation is None:
        return None
    try:
        return _load_manifest(Path(index_dir) / generation)
    except (OSError, ValueError) as exc:
        log.warning("unreadable manifest in %s: %r", generation, exc)
        return None


@dataclass
class OpenIndex:
    """What answering needs from an index, loaded once."""

    index_dir: Path
    generation: str
    manifest: dict
    clauses: list[dict]
    chunks: list[dict]
    collection: object  # chromadb Collection
    client: object = field(repr=False, default=None)

    @property
    def embedding_model(self) -> str:
        return self.manifest["embedding_model"]

    @property
    def documents(self) -> list[dict]:
        return self.manifest["documents"]


def open_index(index_dir: Path, settings, embedding_model: str) -> OpenIndex:
    """Open the current generation; refuse one built by another model or schema."""
    index_dir = Path(index_dir)
    generation = current_generation(index_dir)
    if generation is None:
        raise IndexMissingError(
            f"no index in {index_dir}; run: python -m index build",
            "Chưa có chỉ mục. Hãy xây chỉ mục: python -m index build",
        )
    gen_dir = index_dir / generation
    try:
        manifest = _load_manifest(gen_dir)
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(
            f"manifest of {generation} is unreadable ({exc!r}); rebuild with: python -m index build",
            "Chỉ mục bị hỏng. Hãy xây lại: python -m index build",
        ) from exc
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"index schema {manifest.get('schema_version')} != {SCHEMA_VERSION}; rebuild with: python -m index build",
            "Chỉ mục được tạo bởi phiên bản cũ. Hãy xây lại: python -m index build",
        )
    if manifest.get("embedding_model") != embedding_model:
        raise IndexMismatchError(
            f"index built with {manifest.get('embedding_model')!r}, settings ask for {embedding_model!r}; "
            "rebuild with: python -m index build",
            f"Chỉ mục được xây bằng mô hình {manifest.get('embedding_model')}, khác mô hình đang cấu hình "
            f"({embedding_model}). Hãy xây lại: python -m index build",
        )
    for doc in manifest["documents"]:
        if not _source_unchanged(doc):
            raise IndexMismatchError(
                f"source {doc['source']} changed since the index was built; rebuild with: python -m index build",
                "Văn bản nguồn đã thay đổi từ khi xây chỉ mục. Hãy xây lại: python -m index build",
            )
    try:
        clauses = read_jsonl(gen_dir / CLAUSES_FILE)
        chunks = read_jsonl(gen_dir / CHUNKS_FILE)
        client = make_client(gen_dir, settings)
        collection = client.get_collection(manifest["collection"])
        count = collection.count()
    except StoreUnavailableError:
        raise
    except Exception as exc:  # corrupted files or store: never a traceback for users
        raise IndexMismatchError(
            f"index generation {generation} is unreadable ({exc!r}); rebuild with: python -m index build",
            "Chỉ mục bị hỏng. Hãy xây lại: python -m index build",
        ) from exc
    if count != len(chunks):
        raise IndexMismatchError(
            f"collection holds {count} vectors, chunks.jsonl {len(chunks)}; rebuild",
            "Chỉ mục không đầy đủ. Hãy xây lại: python -m index build",
        )
    return OpenIndex(index_dir, generation, manifest, clauses, chunks, collection, client)


def _source_unchanged(doc: dict) -> bool:
    """A source file that still exists must still hold what was indexed."""
    from index.build import file_sha256

    source = Path(doc["source"])
    if not source.is_file():
        return True  # the index keeps its own copy of every clause; a moved file is fine
    return file_sha256(source) == doc["sha256"]


def prune_generations(index_dir: Path, keep: set[str]) -> None:
    """Remove finished generations not kept and any half-written build folders."""
    for child in Path(index_dir).iterdir():
        if child.is_dir() and child.name.startswith("gen-") and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
