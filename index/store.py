"""The persistent index: generations of (Chroma collection + clauses.jsonl + manifest).

A build writes a new generation and then swaps one pointer file (CURRENT), so a
build that fails or is killed half-way never touches the index in use.
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from core.files import sha256_file
from core.errors import IndexMismatchError, IndexMissingError, IndexUnavailableError, StoreUnavailableError
from index.parse import SCHEMA_VERSION

log = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
CLAUSES_FILE = "clauses.jsonl"
CHUNKS_FILE = "chunks.jsonl"
TOKENS_FILE = "bm25_tokens.json"  # each chunk's BM25 tokens, written by the build (opening skips tokenising)
_GENERATION = re.compile(r"gen-[A-Za-z0-9_-]+")


def chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def make_client(gen_dir: Path, settings):
    """Embedded Chroma inside the generation folder, or the configured Chroma server.

    The server client connects at once, with a bounded wait per request: an unreachable, hung or
    token-refusing server is a StoreUnavailableError naming it, not chromadb's errors nor a 'damaged index'.
    """
    import chromadb

    if settings.chroma_host:
        token = settings.chroma_token
        if token and not (token.isascii() and token.isprintable()):
            raise StoreUnavailableError("TLNQ_CHROMA_TOKEN holds non-ASCII characters",
                                        "TLNQ_CHROMA_TOKEN chỉ được gồm ký tự ASCII in được (không dấu, "
                                        "không khoảng trắng đầu cuối).")
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            _probe(settings, headers)  # chromadb's constructor already makes requests, with no time limit
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl,
                headers=headers, settings=chroma_settings(),
            )
            _bound_waits(client, settings.chroma_timeout_s)
            client.heartbeat()
            return client
        except Exception as exc:
            raise server_error(exc, settings) from exc
    return chromadb.PersistentClient(path=str(gen_dir / "chroma"), settings=chroma_settings())


def _probe(settings, headers: dict | None) -> None:
    """One bounded heartbeat: a hung server or a refused token fails here, in seconds."""
    import httpx

    scheme = "https" if settings.chroma_ssl else "http"
    url = f"{scheme}://{settings.chroma_host}:{settings.chroma_port}/api/v2/heartbeat"
    timeout = httpx.Timeout(settings.chroma_timeout_s, connect=min(settings.chroma_timeout_s, 5.0))
    for attempt in range(settings.chroma_retries + 1):
        try:
            response = httpx.get(url, headers=headers, timeout=timeout)
            break
        except httpx.TransportError:
            if attempt == settings.chroma_retries:
                raise
    if response.status_code in (401, 403):
        raise PermissionError(f"Unauthorized ({response.status_code}) at {url}")
    response.raise_for_status()


def _bound_waits(client, seconds: float) -> None:
    """chromadb's HTTP session waits forever (timeout=None): a hung server would hang every answer."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds, connect=min(seconds, 5.0))
    else:  # a chromadb without that attribute: say so once, keep working
        log.warning("cannot bound the Chroma client's waits; a hung server may hang answers")


def server_error(exc: BaseException, settings) -> StoreUnavailableError:
    """A Chroma server failure as one error with a Vietnamese message: refused token, timeout or down."""
    where = f"{settings.chroma_host}:{settings.chroma_port}"
    text = f"{type(exc).__name__}: {exc}"
    if "AuthorizationError" in text or "Unauthorized" in text or "401" in text or "403" in text:
        return StoreUnavailableError(
            f"the Chroma server at {where} refused the token: {text}",
            f"Máy chủ Chroma tại {where} từ chối mã truy cập. Hãy kiểm tra TLNQ_CHROMA_TOKEN.",
        )
    if "timeout" in text.lower() or "timed out" in text.lower():
        return StoreUnavailableError(
            f"the Chroma server at {where} did not answer within {settings.chroma_timeout_s} s: {text}",
            f"Máy chủ Chroma tại {where} không phản hồi (quá {settings.chroma_timeout_s:.0f} giây). "
            "Vui lòng thử lại sau ít phút hoặc báo quản trị viên.",
        )
    return StoreUnavailableError(
        f"cannot reach the Chroma server at {where}: {text}",
        f"Không kết nối được máy chủ Chroma tại {where}. Hãy kiểm tra máy chủ đang chạy "
        "và cấu hình TLNQ_CHROMA_HOST/TLNQ_CHROMA_PORT.",
    )


def with_retries(call, settings, what: str):
    """Run a Chroma server request, retrying transient failures (connection lost, timeout) with a short
    back-off; then a StoreUnavailableError. Embedded mode: run once, errors unchanged."""
    import time

    import httpx

    if not settings.chroma_host:
        return call()
    for attempt in range(settings.chroma_retries + 1):
        try:
            return call()
        except (httpx.TransportError, ConnectionError) as exc:
            if attempt == settings.chroma_retries:
                raise server_error(exc, settings) from exc
            log.warning("%s: Chroma server request failed (%r), retry %d", what, exc, attempt + 1)
            time.sleep(0.5 * 2 ** attempt)
        except Exception as exc:
            if "AuthorizationError" in type(exc).__name__ or "Unauthorized" in str(exc):
                raise server_error(exc, settings) from exc
            raise


DEPLOYMENT_FILE = "DEPLOYMENT"


def deployment_id(index_dir: Path) -> str:
    """A random id kept in the index folder, made on first use: two deployments whose index folders
    have the same path (two machines, one Chroma server) still get different collection names."""
    import secrets

    path = Path(index_dir) / DEPLOYMENT_FILE
    try:
        value = path.read_text(encoding="utf-8").strip()
        if re.fullmatch(r"[0-9a-f]{16,64}", value):
            return value
    except (OSError, UnicodeDecodeError):
        pass
    value = secrets.token_hex(16)
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    write_atomic(path, value)
    return value


def collection_prefix(index_dir: Path) -> str:
    """'clauses-<10 hex>-': several index folders, on one machine or several, may share one Chroma server
    without touching each other's collections (the hash is of the deployment id and the folder)."""
    key = f"{deployment_id(index_dir)}:{Path(index_dir).resolve()}"
    return f"clauses-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}-"


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
    note: str | None = None  # said to users: e.g. read from a temporary copy because the disk is read-only
    settings: object = field(repr=False, default=None)
    tokens: list[list[str]] | None = field(repr=False, default=None)  # per chunk, from TOKENS_FILE when valid

    def request(self, call, what: str):
        """A store request; in server mode bounded, retried, and failing as a StoreUnavailableError."""
        return call() if self.settings is None else with_retries(call, self.settings, what)

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
    except Exception as exc:  # truncated or missing files: never a traceback for users
        raise _damaged(generation, exc) from exc
    note = None
    try:
        client, collection, count = _open_collection(gen_dir, settings, manifest["collection"])
    except StoreUnavailableError:
        raise
    except Exception as exc:
        # 'Damaged' only after a real check: Chroma also fails to open on a full or read-only disk.
        problem = None if settings.chroma_host else disk_problem(gen_dir)
        if problem is None:
            raise _damaged(generation, exc) from exc
        log.warning("index %s cannot be opened in place (%s disk: %r); reading a temporary copy",
                    generation, problem, exc)
        client, collection, count = _open_copy(gen_dir, settings, manifest["collection"], problem)
        note = (f"Ổ đĩa chứa chỉ mục {DISK_WORDS[problem]}: trợ lý đang đọc một bản sao tạm của chỉ mục "
                "(vẫn trả lời bình thường, nhưng chưa thể thêm văn bản hay xây lại chỉ mục).")
    if count != len(chunks):
        raise IndexMismatchError(
            f"collection holds {count} vectors, chunks.jsonl {len(chunks)}; rebuild",
            "Chỉ mục không đầy đủ. Hãy xây lại: python -m index build",
        )
    return OpenIndex(index_dir, generation, manifest, clauses, chunks, collection, client, note, settings,
                     tokens=stored_tokens(gen_dir, len(chunks)))


def stored_tokens(gen_dir: Path, n_chunks: int) -> list[list[str]] | None:
    """The chunks' BM25 tokens as the build stored them, or None (then they are computed): a missing or
    unreadable file, another tokenizer, or another number of chunks is never an error."""
    from index.lexical import tokenizer_id

    try:
        data = json.loads((gen_dir / TOKENS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    tokens = data.get("tokens") if isinstance(data, dict) and data.get("tokenizer") == tokenizer_id() else None
    return tokens if isinstance(tokens, list) and len(tokens) == n_chunks else None


DISK_WORDS = {"read-only": "chỉ cho phép đọc", "full": "đã đầy"}


def _damaged(generation: str, exc: Exception) -> IndexMismatchError:
    return IndexMismatchError(
        f"index generation {generation} is unreadable ({exc!r}); rebuild with: python -m index build",
        "Chỉ mục bị hỏng. Hãy xây lại: python -m index build",
    )


def _open_collection(gen_dir: Path, settings, name: str, path: Path | None = None):
    if path is not None:
        import chromadb

        client = chromadb.PersistentClient(path=str(path), settings=chroma_settings())
    else:
        client = make_client(gen_dir, settings)
    collection = with_retries(lambda: client.get_collection(name), settings, "open")
    return client, collection, with_retries(collection.count, settings, "count")


def _open_copy(gen_dir: Path, settings, name: str, problem: str):
    """Open a temporary copy of the generation's Chroma folder (removed when the index is dropped)."""
    scratch = Path(tempfile.mkdtemp(prefix="tlnq-index-"))
    try:
        shutil.copytree(gen_dir / "chroma", scratch / "chroma")
        opened = _open_collection(gen_dir, settings, name, scratch / "chroma")
    except Exception as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise IndexUnavailableError(
            f"index {gen_dir.name} is intact but cannot be opened: {problem} disk and no room for a copy ({exc!r})",
            f"Không mở được chỉ mục vì ổ đĩa {DISK_WORDS[problem]} (chỉ mục vẫn nguyên vẹn, không cần xây lại). "
            "Hãy giải phóng dung lượng hoặc cho phép ghi vào thư mục chỉ mục, rồi tải lại trang.",
        ) from exc
    weakref.finalize(opened[0], shutil.rmtree, scratch, True)
    return opened


def disk_problem(folder: Path) -> str | None:
    """'read-only' or 'full' when a small write into ``folder`` fails for that reason, else None.

    Called only after opening failed, to tell a damaged index from a disk that refuses writes.
    """
    probe = Path(folder) / f".probe-{os.getpid()}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 65536)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "read-only"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "full"
        return None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
    return None


def disk_full(exc: BaseException) -> bool:
    """Whether an error (ours or Chroma's, which wraps SQLite's) means the disk ran out of space."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(exc).lower()
        if "disk is full" in text or "no space left" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _source_unchanged(doc: dict) -> bool:
    """A source file that still exists must still hold what was indexed."""
    source = Path(doc["source"])
    if not source.is_file():
        return True  # the index keeps its own copy of every clause; a moved file is fine
    return sha256_file(source) == doc["sha256"]


def prune_generations(index_dir: Path, keep: set[str]) -> None:
    """Remove finished generations not kept and any half-written build folders."""
    for child in Path(index_dir).iterdir():
        if child.is_dir() and child.name.startswith("gen-") and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)


def prune_stale(index_dir: Path) -> list[str]:
    """What a killed or failed build left: generations other than the current one and the finished one
    just before it (a reader may still use it), and temporary files. Returns the names removed.

    Generation names start with their UTC build time, so "before" is a string comparison.
    """
    index_dir = Path(index_dir)
    if not index_dir.is_dir():
        return []
    current = current_generation(index_dir)
    finished = sorted(p.name for p in index_dir.iterdir()
                      if p.is_dir() and _GENERATION.fullmatch(p.name) and (p / MANIFEST_FILE).is_file())
    older = [g for g in finished if current and g < current]
    keep = {current} | ({older[-1]} if older else set())
    removed = []
    for child in index_dir.iterdir():
        stale = (child.is_dir() and child.name.startswith("gen-") and child.name not in keep) or \
                (child.is_file() and child.name.endswith(".tmp"))
        if stale:
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
            removed.append(child.name)
    if removed:
        log.info("pruned what earlier builds left in %s: %s", index_dir, ", ".join(sorted(removed)))
    return removed
