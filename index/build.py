"""Build (or refresh) the index from resolution files.

Unchanged source + same model = nothing to do. Otherwise a new generation is
written beside the old one, reusing the vectors of unchanged chunks, and the
CURRENT pointer is swapped only when everything is on disk.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from core.files import sha256_file
from index.chunks import Chunk, make_chunks
from core.errors import (DiskFullError, DocumentError, IndexBusyError, IndexingError, IndexMismatchError,
                          IndexMissingError, IndexUnavailableError)
from index.lexical import strip_accents, tokenize, tokenizer_id
from index.limits import Limits
from index.load import load_document
from index.meta import DocInfo, describe
from index.parse import SCHEMA_VERSION, Clause, ParseWarning, parse_document
from index.store import (
    CHUNKS_FILE, CLAUSES_FILE, CURRENT_FILE, MANIFEST_FILE, TOKENS_FILE, collection_name, collection_prefix,
    current_generation, disk_full, make_client, open_index, prune_generations, prune_stale, read_manifest,
    write_atomic, write_jsonl,
)

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
ADD_BATCH = 256
# Free space a build needs, from the seed's generation on disk (about 9 KB a chunk at 768 dimensions,
# text and HNSW included), doubled: a fixed margin plus per-chunk bytes and four times the text.
SPACE_MARGIN = 8 * 1024 * 1024
SPACE_PER_CHUNK = 16 * 1024


@dataclass
class ParsedDocument:
    key: str
    source: Path
    sha256: str
    text: str
    clauses: list[Clause]
    info: DocInfo | None = None
    warnings: list[ParseWarning] = field(default_factory=list)


@dataclass
class FailedDocument:
    """A file that could not be loaded: reported and left out, the others are indexed."""

    source: Path
    message: str  # English, for logs
    user_message: str  # Vietnamese, for people


@dataclass
class BuildReport:
    generation: str
    up_to_date: bool
    documents: int
    clauses: int
    chunks: int
    embedded: int
    reused: int
    seconds: float
    embedding_model: str
    failed: list[FailedDocument] = field(default_factory=list)


def document_key(path: Path) -> str:
    """'NQ 412-2023 Hưng Yên.txt' -> 'nq-412-2023-hung-yen'."""
    slug = re.sub(r"[^a-z0-9]+", "-", strip_accents(Path(path).stem).lower()).strip("-")
    return slug or "document"


def parse_documents(files: list[Path], *, strict: bool = False,
                    limits: Limits = Limits()) -> tuple[list[ParsedDocument], list[FailedDocument]]:
    """Load and parse every file; one that fails (or is over a limit) is reported and left out
    (``strict``, or a single file: its own error is raised)."""
    strict = strict or len(files) == 1
    docs: list[ParsedDocument] = []
    failed: list[FailedDocument] = []
    seen: set[str] = set()
    for path in files:
        try:
            path = Path(path).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop, an unreadable parent folder
            error = DocumentError(f"cannot resolve {path}: {exc}", "Không đọc được đường dẫn tệp (liên kết vòng "
                                  "hoặc thư mục không truy cập được).")
            if strict:
                raise error from exc
            failed.append(FailedDocument(Path(path), str(error), error.user_message))
            continue
        try:
            text = load_document(path, limits)
            result = parse_document(text)
            check_clause_count(result.clauses, limits, path.name)
        except IndexingError as exc:
            if strict:
                raise
            log.info("left out %s: %s", path, exc)
            failed.append(FailedDocument(path, str(exc), exc.user_message))
            continue
        except Exception as exc:  # a parser bug on one document must not stop the others
            if strict:
                raise DocumentError(f"cannot parse {path.name}: {exc!r}", "Không phân tích được văn bản này.") from exc
            log.exception("left out %s: parser error", path)
            failed.append(FailedDocument(path, repr(exc), "Không phân tích được văn bản này."))
            continue
        key, n = document_key(path), 2
        base = key
        while key in seen:
            key, n = f"{base}-{n}", n + 1
        seen.add(key)
        info = describe(text, result.clauses, fallback=path.stem)
        docs.append(ParsedDocument(key, path, sha256_file(path), text, result.clauses, info, result.warnings))
    if not docs:
        names = ", ".join(f.source.name for f in failed)
        detail = "; ".join(f.user_message for f in failed)
        raise DocumentError(f"no document could be loaded ({names})",
                            f"Không nạp được văn bản nào ({names}): {detail}")
    return docs, failed


def check_clause_count(clauses: list, limits: Limits, name: str) -> None:
    if len(clauses) > limits.clauses:
        raise DocumentError(
            f"{name}: {len(clauses)} clauses > {limits.clauses}",
            f"Văn bản có quá nhiều điều khoản ({len(clauses)}; tối đa {limits.clauses}). "
            "Hãy tách thành các văn bản nhỏ hơn.",
        )


def fingerprint(docs: list[ParsedDocument]) -> str:
    payload = json.dumps(
        [SCHEMA_VERSION] + [[d.key, hashlib.sha256(d.text.encode()).hexdigest()] for d in docs]
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@contextmanager
def build_lock(index_dir: Path):
    """One builder at a time; the loser is told at once instead of waiting."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = open(index_dir / "build.lock", "w")
    except OSError as exc:
        full = disk_full(exc)
        raise (DiskFullError if full else IndexUnavailableError)(
            f"cannot write in {index_dir}: {exc!r}",
            ("Ổ đĩa đã đầy" if full else "Không ghi được vào thư mục chỉ mục (đường dẫn TLNQ_INDEX_DIR không hợp "
                                          "lệ, ổ đĩa chỉ đọc hoặc thiếu quyền)")
            + ": không xây được chỉ mục. Chỉ mục hiện có vẫn được giữ nguyên.",
        ) from exc
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(
                f"another process is building the index in {index_dir}",
                "Một tiến trình khác đang xây chỉ mục. Vui lòng thử lại sau ít phút.",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_for(settings, files: list[Path] | None = None, *, embedder=None, model_name: str | None = None,
              get_embedder: Callable[[], object] | None = None, progress: Progress | None = None,
              force: bool = False) -> BuildReport:
    """Build ``files`` (default: the settings' documents) with the settings' embedder, or ``embedder``.

    The one place the index side is wired (the index CLI, the app's build button, eval tools and the
    composition root call it); the model is loaded only when something must be embedded.
    """
    from index.embed import choose_model, embedder_for

    if embedder is not None:
        model_name, get_embedder = embedder.name, lambda: embedder
    else:
        model_name = model_name or choose_model(settings)[0]
        get_embedder = get_embedder or (lambda: embedder_for(settings, model_name))
    sources = list(settings.documents) if files is None else list(files)
    return build_index(sources, settings, model_name, get_embedder, progress=progress, force=force)


def indexed_sources(settings) -> list[Path]:
    """What the current index holds (uploaded documents included): a rebuild reads these again."""
    try:
        manifest = read_manifest(settings.index_dir)
    except Exception:  # noqa: BLE001 — a damaged manifest: fall back to the configured documents
        manifest = None
    sources = [Path(d["source"]) for d in (manifest or {}).get("documents", []) if Path(d["source"]).is_file()]
    return sources or list(settings.documents)


def build_index(
    files: list[Path],
    settings,
    model_name: str,
    get_embedder: Callable[[], object],
    *,
    progress: Progress | None = None,
    force: bool = False,
) -> BuildReport:
    """Parse, chunk, embed and store ``files`` as the new current index.

    The embedder is loaded (``get_embedder()``) only when something must be embedded.
    """
    started = time.perf_counter()
    progress = progress or (lambda stage, done, total: None)
    index_dir = Path(settings.index_dir)
    docs, failed = parse_documents(files, limits=Limits.of(settings))  # bad input fails here, before anything is touched
    progress("parse", len(docs), len(docs))
    fp = fingerprint(docs)
    chunks = [chunk for d in docs for chunk in make_chunks(d.key, d.clauses)]
    n_clauses = sum(len(d.clauses) for d in docs)

    with build_lock(index_dir):
        prune_stale(index_dir)  # what a killed or failed build left behind
        old = read_manifest(index_dir)
        target = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded"
        if (not force and old and old.get("fingerprint") == fp and old.get("embedding_model") == model_name
                and old.get("store") == target and _generation_readable(index_dir, settings, model_name)):
            return BuildReport(old["generation"], True, len(docs), n_clauses, len(chunks), 0, len(chunks),
                               time.perf_counter() - started, model_name, failed)

        check_free_space(index_dir, chunks, settings)  # before the slow embedding
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        generation = f"gen-{stamp}-{fp[:8]}"
        gen_dir = index_dir / generation
        # Server mode: connect before the slow embedding, so an unreachable server fails at once.
        server = make_client(gen_dir, settings) if settings.chroma_host else None
        previous = current_generation(index_dir)
        vectors = {} if force else _reusable_vectors(index_dir, previous, old, model_name, settings)
        missing = [c for c in chunks if c.text_hash not in vectors]
        embedder = get_embedder() if missing else None
        for i in range(0, len(missing), 32):
            batch = missing[i:i + 32]
            for chunk, vector in zip(batch, embedder.embed_documents([c.embed_text for c in batch])):
                vectors[chunk.text_hash] = vector
            progress("embed", min(i + 32, len(missing)), len(missing))

        try:
            gen_dir.mkdir(parents=True)
            client = server or make_client(gen_dir, settings)
            collection = client.create_collection(
                collection_name(generation, index_dir),
                metadata={"embedding_model": model_name, "schema_version": SCHEMA_VERSION, "fingerprint": fp},
                configuration={"hnsw": {"space": "cosine"}},
            )
            for i in range(0, len(chunks), ADD_BATCH):
                batch = chunks[i:i + ADD_BATCH]
                collection.add(
                    ids=[c.chunk_id for c in batch],
                    embeddings=[vectors[c.text_hash] for c in batch],
                    documents=[c.text for c in batch],
                    metadatas=[_metadata(c) for c in batch],
                )
                progress("store", min(i + ADD_BATCH, len(chunks)), len(chunks))

            write_jsonl(gen_dir / CLAUSES_FILE, (
                {"doc": d.key, "doc_name": d.info.short if d.info else d.key, **c.to_dict()}
                for d in docs for c in d.clauses
            ))
            write_jsonl(gen_dir / CHUNKS_FILE, (c.to_dict() for c in chunks))
            (gen_dir / TOKENS_FILE).write_text(json.dumps(
                {"tokenizer": tokenizer_id(), "tokens": [tokenize(c.embed_text) for c in chunks]},
                ensure_ascii=False), encoding="utf-8")
            manifest = {
                "generation": generation,
                "schema_version": SCHEMA_VERSION,
                "embedding_model": model_name,
                "embedding_dim": len(next(iter(vectors.values()))) if vectors else 0,
                "fingerprint": fp,
                "store": target,
                "collection": collection_name(generation, index_dir),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "documents": [
                    {"key": d.key, "source": str(d.source), "sha256": d.sha256, "clauses": len(d.clauses),
                     "title": _title(d), "name": d.info.short if d.info else d.key,
                     "display": d.info.display if d.info else d.key,
                     "warnings": [w.message_vi() for w in d.warnings]}
                    for d in docs
                ],
            }
            write_atomic(gen_dir / MANIFEST_FILE, json.dumps(manifest, ensure_ascii=False, indent=1))
            write_atomic(index_dir / CURRENT_FILE, generation)  # the swap
        except BaseException as exc:
            # Nothing half-written is left behind: the previous generation stays current.
            shutil.rmtree(gen_dir, ignore_errors=True)
            if server is not None:
                _drop_quietly(server, collection_name(generation, index_dir))
            if isinstance(exc, Exception) and disk_full(exc):
                raise DiskFullError(
                    f"disk full while writing {generation}: {exc!r}",
                    "Ổ đĩa đã đầy khi đang xây chỉ mục. Chỉ mục cũ vẫn được giữ nguyên; hãy giải phóng "
                    "dung lượng rồi xây lại.",
                ) from exc
            raise
        keep = {generation} | ({previous} if previous else set())
        prune_generations(index_dir, keep)
        if settings.chroma_host:
            _drop_server_collections(client, index_dir, keep, old.get("collection") if old else None)
        embedded = len(missing)
        log.info("built %s: %d docs, %d chunks, %d embedded, %d reused", generation, len(docs),
                 len(chunks), embedded, len(chunks) - embedded)
        return BuildReport(generation, False, len(docs), n_clauses, len(chunks), embedded,
                           len(chunks) - embedded, time.perf_counter() - started, model_name, failed)


def check_free_space(index_dir: Path, chunks: list[Chunk], settings) -> None:
    """Refuse before writing anything when the disk cannot hold a new generation (server mode keeps
    the vectors on the server, so only the small files are counted)."""
    text = sum(len(c.text.encode("utf-8")) for c in chunks)
    per_chunk = 0 if settings.chroma_host else SPACE_PER_CHUNK
    needed = SPACE_MARGIN + len(chunks) * per_chunk + 4 * text
    free = shutil.disk_usage(index_dir).free
    if free < needed:
        raise DiskFullError(
            f"{free} bytes free in {index_dir}, a build of {len(chunks)} chunks needs about {needed}",
            f"Ổ đĩa gần đầy, không đủ chỗ để xây chỉ mục (còn {free / 2**20:.0f} MB, cần khoảng {needed / 2**20:.0f} MB). "
            "Chỉ mục cũ vẫn được giữ nguyên; hãy giải phóng dung lượng rồi xây lại.",
        )


def _drop_quietly(client, name: str) -> None:
    try:
        client.delete_collection(name)
    except Exception as exc:  # noqa: BLE001 — cleaning up after a failure must not hide it
        log.warning("could not drop %s after a failed build: %r", name, exc)


def _metadata(chunk: Chunk) -> dict:
    return {"doc": chunk.doc, "clause_id": chunk.clause_id, "label": chunk.label,
            "path": chunk.path, "part": chunk.part, "text_hash": chunk.text_hash}


def _title(doc: ParsedDocument) -> str:
    """The title line(s) only ('Về nhiệm vụ phát triển kinh tế - xã hội năm 2024'), else the file name."""
    return (doc.info.title if doc.info and doc.info.title else doc.key)[:300]


def _reusable_vectors(index_dir: Path, previous: str | None, old: dict | None, model: str, settings) -> dict:
    """Vectors of the current generation keyed by chunk text hash, when the model is the same."""
    if not previous or not old or old.get("embedding_model") != model:
        return {}
    try:
        client = make_client(index_dir / previous, settings)
        got = client.get_collection(old["collection"]).get(include=["embeddings", "metadatas"])
        return {m["text_hash"]: list(e) for m, e in zip(got["metadatas"], got["embeddings"])}
    except Exception as exc:  # an unreadable old index just means re-embedding
        log.warning("could not reuse vectors from %s: %r", previous, exc)
        return {}


def _generation_readable(index_dir: Path, settings, model_name: str) -> bool:
    """Whether the current generation opens (files parse, collection there, counts agree).

    A damaged generation whose manifest still matches must be rebuilt, not called 'up to date'.
    """
    try:
        open_index(index_dir, settings, model_name)
        return True
    except (IndexMissingError, IndexMismatchError) as exc:
        log.warning("current index cannot be opened, rebuilding: %s", exc)
        return False


def _drop_server_collections(client, index_dir: Path, keep: set[str], previous_collection: str | None) -> None:
    """Drop this index folder's collections of generations no longer kept; never another folder's."""
    prefix = collection_prefix(index_dir)
    wanted = {collection_name(g, index_dir) for g in keep} | {previous_collection}
    for col in client.list_collections():
        name = getattr(col, "name", col)
        if name.startswith(prefix) and name not in wanted:
            client.delete_collection(name)
