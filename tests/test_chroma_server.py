"""Server mode: the index in a real `chroma run` server on loopback, answering exactly like embedded mode.

The server index is built from the same chunks with the same vectors as the session's
embedded index (taken from it by chunk text hash; the model is not re-run), and dense
retrieval is switched on in both modes whatever the model's measured weight, so every
question really queries the server.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from eval.servers import LOOPBACK, NotUp, free_port, http_ok, stop, wait_until_up
from tests.conftest import REPO, SEED

CHROMA = Path(sys.executable).parent / "chroma"
QUESTIONS = REPO / "eval" / "questions.jsonl"
GRDP_CLAUSE = "D2/K2/M2.1/CT1"
Q_GRDP = "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?"


def _heartbeat(port: int) -> bool:
    return http_ok(f"http://{LOOPBACK}:{port}/api/v2/heartbeat", contains="heartbeat")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """`chroma run` on a free loopback port; terminated (then killed if need be) at the end."""
    if not CHROMA.exists():
        pytest.fail(f"{CHROMA} missing: it comes with the chromadb package in requirements.txt", pytrace=False)
    home = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log_path = home / "chroma.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(CHROMA), "run", "--path", str(home / "data"), "--host", LOOPBACK,
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=home)
    try:
        try:
            wait_until_up(proc, lambda: _heartbeat(port), 60, 0.2)
        except NotUp:
            pytest.fail(f"chroma server not up (exit {proc.poll()}):\n{log_path.read_text()[-2000:]}")
        yield port
    finally:
        stop(proc, grace=15, kill_wait=15)


class VectorsOf(Embeddings):
    """The embedded index's own document vectors, looked up by chunk text hash; queries cached.

    Both modes then see identical vectors, and the model runs once per distinct question.
    """

    def __init__(self, opened, embedder):
        got = opened.collection.get(include=["embeddings", "metadatas"])
        self.vectors = {m["text_hash"]: list(map(float, e)) for m, e in zip(got["metadatas"], got["embeddings"])}
        self.embedder = embedder
        self.name = opened.embedding_model
        self._queries: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.vectors[hashlib.sha256(t.encode("utf-8")).hexdigest()[:16]] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            if text not in self._queries:
                self._queries[text] = self.embedder.embed_query(text)
            return self._queries[text]


@pytest.fixture(scope="module")
def vectors(real_assistant) -> VectorsOf:
    return VectorsOf(real_assistant.index, real_assistant.embedder)


@pytest.fixture(scope="module")
def server_settings(chroma_server, real_settings, tmp_path_factory):
    home = tmp_path_factory.mktemp("server-index")
    return real_settings.model_copy(update={
        "chroma_host": "127.0.0.1", "chroma_port": chroma_server, "index_dir": home / "index",
        "log_file": home / "q.log", "dense_weight": 1.0,
    })


@pytest.fixture(scope="module")
def server_index(server_settings, vectors):
    from index.build import build_index

    report = build_index([SEED], server_settings, vectors.name, lambda: vectors)
    assert not report.up_to_date and report.chunks == report.embedded == len(vectors.vectors)
    return report


def _answers(assistant, rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        data = assistant.ask(row["question"], row.get("history") or None).to_dict()
        data.pop("timings_ms")
        out.append(data)
    return out


def test_server_index_is_in_the_server_not_on_disk(server_settings, server_index):
    import chromadb

    from index.store import chroma_settings, open_index, read_manifest

    manifest = read_manifest(server_settings.index_dir)
    assert manifest["store"] == f"127.0.0.1:{server_settings.chroma_port}"
    gen_dir = Path(server_settings.index_dir) / server_index.generation
    assert not (gen_dir / "chroma").exists() and (gen_dir / "chunks.jsonl").is_file()
    client = chromadb.HttpClient(host="127.0.0.1", port=server_settings.chroma_port, settings=chroma_settings())
    assert manifest["collection"] in [c.name for c in client.list_collections()]
    opened = open_index(server_settings.index_dir, server_settings, manifest["embedding_model"])
    assert opened.collection.count() == len(opened.chunks) == 59


def test_whole_eval_set_answers_the_same_as_embedded_mode(real_assistant, real_settings, server_settings,
                                                          server_index, vectors):
    from assistant.service import Assistant
    from index.store import open_index

    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) > 200
    embedded = Assistant(real_settings.model_copy(update={"dense_weight": 1.0}), real_assistant.index, vectors)
    served = Assistant(server_settings, open_index(server_settings.index_dir, server_settings, vectors.name),
                       vectors)
    assert served.retriever.vectorstore is not None  # dense retrieval queries the server
    want, got = _answers(embedded, rows), _answers(served, rows)
    differ = [(row["id"], w["answer"], g["answer"]) for row, w, g in zip(rows, want, got) if w != g]
    assert not differ, differ[:3]
    assert sum(a["answerable"] for a in got) > 100
    assert got[0]["citations"][0]["clause_id"] == GRDP_CLAUSE


def test_rebuild_in_server_mode_swaps_and_drops_old_collections(server_settings, server_index, vectors):
    import chromadb

    from index.build import build_index
    from index.store import chroma_settings, collection_name, collection_prefix, current_generation, open_index

    first = current_generation(server_settings.index_dir)
    assert build_index([SEED], server_settings, vectors.name, lambda: vectors).up_to_date
    second = build_index([SEED], server_settings, vectors.name, lambda: vectors, force=True).generation
    third = build_index([SEED], server_settings, vectors.name, lambda: vectors, force=True).generation
    client = chromadb.HttpClient(host="127.0.0.1", port=server_settings.chroma_port, settings=chroma_settings())
    prefix = collection_prefix(server_settings.index_dir)
    names = {c.name for c in client.list_collections() if c.name.startswith(prefix)}
    assert names == {collection_name(g, server_settings.index_dir) for g in (second, third)}  # current, previous
    assert first not in {second, third}
    opened = open_index(server_settings.index_dir, server_settings, vectors.name)
    assert opened.generation == third and opened.collection.count() == 59


# -- the token ---------------------------------------------------------------------
class _Recorder(BaseHTTPRequestHandler):
    """A loopback pass-through to the Chroma server that records each request's Authorization header.

    Chroma 1.x's own server has no token check to turn on, so the proxy shows what goes on the wire.
    """

    protocol_version = "HTTP/1.1"
    upstream_port = 0
    seen: list[tuple[str, str | None]] = []

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def recorder(chroma_server):
    handler = type("Recorder", (_Recorder,), {"upstream_port": chroma_server, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("token", ["s3cret-token", None], ids=["token", "no-token"])
def test_token_is_sent_on_every_request(server_settings, server_index, vectors, recorder, token):
    from assistant.service import Assistant
    from index.store import open_index

    port, seen = recorder
    settings = server_settings.model_copy(update={"chroma_port": port, "chroma_token": token})
    opened = open_index(settings.index_dir, settings, vectors.name)  # heartbeat, identity, collection, count
    answer = Assistant(settings, opened, vectors).ask(Q_GRDP)  # and a dense query
    assert answer.citations[0].clause_id == GRDP_CLAUSE
    assert len(seen) >= 3 and any("/query" in path for path, _ in seen)
    assert {auth for _, auth in seen} == {f"Bearer {token}" if token else None}


# -- sharing a server, and a server that is down -----------------------------------
def test_two_indexes_can_share_one_server(server_settings, server_index, vectors, tmp_path):
    from index.build import build_index
    from index.store import open_index

    other = server_settings.model_copy(update={"index_dir": tmp_path / "other-index"})
    build_index([SEED], other, vectors.name, lambda: vectors)
    try:
        open_index(server_settings.index_dir, server_settings, vectors.name)  # the first one must still open
    finally:  # put the module's server index back for whatever runs next
        build_index([SEED], server_settings, vectors.name, lambda: vectors, force=True)


@pytest.mark.parametrize("build", [False, True], ids=["open", "open-or-build"])
def test_unreachable_server_is_a_clear_message(server_settings, server_index, fake_embedder, monkeypatch,
                                               build):
    import index.embed
    from assistant.compose import make_assistant
    from core.errors import IndexingError

    monkeypatch.setattr(index.embed, "make_embedder", lambda name, models_dir: fake_embedder)
    down = server_settings.model_copy(update={"chroma_port": free_port()})
    with pytest.raises(IndexingError) as err:
        make_assistant(down, build=build)
    assert "máy chủ Chroma" in err.value.user_message


# -- an authenticating gateway, hung and lost servers, deployments sharing a path -----------------
GATE_TOKEN = "van-phong-0123456789-secret"


def _start_gate(upstream_port: int, port: int, home: Path) -> subprocess.Popen:
    import os

    env = dict(os.environ, TLNQ_CHROMA_TOKEN=GATE_TOKEN)
    log = open(home / f"gate-{port}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "index.chroma_gate", "--port", str(port),
                             "--upstream", f"http://127.0.0.1:{upstream_port}"], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    # Up when it answers at all: without a token that answer is 401.
    wait_until_up(proc, lambda: _status(port) == 401, 60, 0.2)
    return proc


def _status(port: int) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/api/v2/heartbeat")
        return conn.getresponse().status
    except OSError:
        return None


@pytest.fixture
def gate(chroma_server, tmp_path):
    port = free_port()
    proc = _start_gate(chroma_server, port, tmp_path)
    try:
        yield port, proc
    finally:
        stop(proc, grace=10, kill_wait=5)


@pytest.mark.parametrize("token", [None, "wrong-token-but-long-enough"], ids=["no-token", "wrong-token"])
def test_gateway_refuses_a_missing_or_wrong_token(server_settings, server_index, vectors, gate, token):
    """`chroma run` itself takes any token; behind the gateway a wrong or missing one is refused, said in
    Vietnamese, and never reaches Chroma."""
    from core.errors import StoreUnavailableError
    from index.store import open_index

    port, _ = gate
    settings = server_settings.model_copy(update={"chroma_port": port, "chroma_token": token})
    with pytest.raises(StoreUnavailableError) as err:
        open_index(settings.index_dir, settings, vectors.name)
    assert "từ chối mã truy cập" in err.value.user_message and "TLNQ_CHROMA_TOKEN" in err.value.user_message
    assert _status(port) == 401  # raw HTTP without a token too


def test_gateway_with_the_right_token_answers_like_the_server(server_settings, server_index, vectors, gate):
    from assistant.service import Assistant
    from index.store import open_index

    port, _ = gate
    settings = server_settings.model_copy(update={"chroma_port": port, "chroma_token": GATE_TOKEN})
    answer = Assistant(settings, open_index(settings.index_dir, settings, vectors.name), vectors).ask(Q_GRDP)
    assert answer.citations[0].clause_id == GRDP_CLAUSE and "7,5-8%" in answer.answer


def test_a_hung_server_is_a_message_within_the_timeout(server_settings, server_index, vectors):
    """A server that accepts connections and never answers: a Vietnamese message after the configured
    wait (and its retries), not an answer that hangs."""
    import socket
    import time

    from core.errors import StoreUnavailableError
    from index.store import open_index

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        settings = server_settings.model_copy(update={"chroma_port": silent.getsockname()[1],
                                                      "chroma_timeout_s": 1.0, "chroma_retries": 1})
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as err:
            open_index(settings.index_dir, settings, vectors.name)
        assert time.monotonic() - started < 20
        assert "không phản hồi" in err.value.user_message or "Không kết nối được" in err.value.user_message
    finally:
        silent.close()


def test_a_server_lost_mid_session_is_a_message_and_answers_resume(server_settings, server_index, vectors,
                                                                  chroma_server, tmp_path):
    """The gateway (standing in for the server) stops between two questions: the question gets a Vietnamese
    message after the retries; when it is back, the same Assistant answers again."""
    from assistant.service import Assistant
    from core.errors import StoreUnavailableError
    from index.store import open_index

    port = free_port()
    proc = _start_gate(chroma_server, port, tmp_path)
    settings = server_settings.model_copy(update={"chroma_port": port, "chroma_token": GATE_TOKEN,
                                                  "chroma_timeout_s": 2.0, "chroma_retries": 1})
    try:
        assistant = Assistant(settings, open_index(settings.index_dir, settings, vectors.name), vectors)
        assert assistant.ask(Q_GRDP).citations[0].clause_id == GRDP_CLAUSE
        stop(proc, grace=10, kill_wait=5)
        with pytest.raises(StoreUnavailableError) as err:
            assistant.ask("Tỷ lệ hộ nghèo năm 2024 phấn đấu giảm còn bao nhiêu?")
        assert "máy chủ Chroma" in err.value.user_message
        proc = _start_gate(chroma_server, port, tmp_path)
        assert assistant.ask(Q_GRDP).citations[0].clause_id == GRDP_CLAUSE
    finally:
        stop(proc, grace=10, kill_wait=5)


def test_two_deployments_with_the_same_index_path_keep_their_collections(server_settings, server_index, vectors,
                                                                        tmp_path):
    """Two machines, one Chroma server, the same TLNQ_INDEX_DIR path: each deployment's id (made on its
    first build) keeps the collection names apart, so one's rebuild never drops the other's index."""
    import chromadb

    from index.build import build_index
    from index.store import chroma_settings, read_manifest

    path = tmp_path / "index"
    first = server_settings.model_copy(update={"index_dir": path})
    build_index([SEED], first, vectors.name, lambda: vectors)
    first_collection = read_manifest(path)["collection"]
    path.rename(tmp_path / "machine-a")  # machine A keeps its folder; machine B starts at the same path
    build_index([SEED], first, vectors.name, lambda: vectors)
    build_index([SEED], first, vectors.name, lambda: vectors, force=True)  # B rebuilds: drops only its own
    client = chromadb.HttpClient(host="127.0.0.1", port=server_settings.chroma_port, settings=chroma_settings())
    names = {getattr(c, "name", c) for c in client.list_collections()}
    assert first_collection in names and read_manifest(path)["collection"] in names
    assert read_manifest(path)["collection"] != first_collection
