"""Building, reopening and rebuilding the persistent index; failures never lose the old one."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from index.build import build_index, build_lock
from core.errors import IndexBusyError, IndexMismatchError, IndexMissingError
from index.store import current_generation, open_index
from tests.conftest import REPO, SEED


def _build(settings, embedder, files=(SEED,), **kw):
    return build_index(list(files), settings, embedder.name, lambda: embedder, **kw)


def test_build_reopen_and_query(tmp_settings, fake_embedder):
    report = _build(tmp_settings, fake_embedder)
    assert report.clauses == 59 and report.embedded == report.chunks > 50
    opened = open_index(tmp_settings.index_dir, tmp_settings, fake_embedder.name)
    assert opened.collection.count() == len(opened.chunks)
    ids = {c["clause_id"] for c in opened.clauses}
    assert {"HEADER", "PREAMBLE", "D2/K2/M2.2/CT15", "CLOSING"} <= ids
    ct15 = next(c for c in opened.chunks if c["clause_id"] == "D2/K2/M2.2/CT15")
    hit = opened.collection.query(query_embeddings=[fake_embedder.embed_query(ct15["embed_text"])], n_results=1)
    assert hit["metadatas"][0][0]["clause_id"] == "D2/K2/M2.2/CT15"
    meta = hit["metadatas"][0][0]
    assert meta["doc"] == "nq-412-2023-hung-yen" and meta["label"].startswith("chỉ tiêu (15)")


def test_bm25_tokens_are_stored_by_the_build_and_reused_only_by_the_same_tokenizer(tmp_settings, fake_embedder,
                                                                                    monkeypatch):
    """Opening an index does not tokenise every chunk again (seconds at thousands of chunks): the build
    stored the tokens; another tokenizer's, or a damaged file, are ignored and the tokens computed."""
    from assistant.retrieve import HybridRetriever
    from index import lexical, store
    from index.lexical import tokenize

    _build(tmp_settings, fake_embedder)
    opened = open_index(tmp_settings.index_dir, tmp_settings, fake_embedder.name)
    assert opened.tokens == [tokenize(c["embed_text"]) for c in opened.chunks]
    stored = HybridRetriever(opened, fake_embedder).bm25.get_scores(tokenize("tỷ lệ hộ nghèo"))
    computed = HybridRetriever(store.OpenIndex(**{**opened.__dict__, "tokens": None}), fake_embedder)
    assert list(stored) == list(computed.bm25.get_scores(tokenize("tỷ lệ hộ nghèo")))

    gen_dir = opened.index_dir / opened.generation
    monkeypatch.setattr(lexical, "tokenizer_id", lambda: "another-tokenizer")
    assert store.stored_tokens(gen_dir, len(opened.chunks)) is None
    monkeypatch.undo()
    assert store.stored_tokens(gen_dir, len(opened.chunks) + 1) is None
    (gen_dir / store.TOKENS_FILE).write_text("{not json", encoding="utf-8")
    assert open_index(tmp_settings.index_dir, tmp_settings, fake_embedder.name).tokens is None


def test_rebuild_with_nothing_changed_embeds_nothing(tmp_settings, fake_embedder):
    first = _build(tmp_settings, fake_embedder)
    calls = fake_embedder.calls
    again = _build(tmp_settings, fake_embedder)
    assert again.up_to_date and again.generation == first.generation and fake_embedder.calls == calls


def test_changed_source_reembeds_only_changed_chunks(tmp_settings, fake_embedder, tmp_path):
    doc = tmp_path / "nq-412-2023-hung-yen.txt"
    shutil.copy(SEED, doc)
    _build(tmp_settings, fake_embedder, [doc])
    doc.write_text(doc.read_text(encoding="utf-8").replace("giảm còn 0,71%.", "giảm còn 0,70%."), encoding="utf-8")
    with pytest.raises(IndexMismatchError):  # the source changed under the index
        open_index(tmp_settings.index_dir, tmp_settings, fake_embedder.name)
    report = _build(tmp_settings, fake_embedder, [doc])
    assert report.embedded == 1 and report.reused == report.chunks - 1
    opened = open_index(tmp_settings.index_dir, tmp_settings, fake_embedder.name)
    assert any("0,70%" in c["text"] for c in opened.chunks)


def test_missing_and_mismatched_model_are_refused(tmp_settings, fake_embedder):
    with pytest.raises(IndexMissingError) as missing:
        open_index(tmp_settings.index_dir, tmp_settings, fake_embedder.name)
    assert "python -m index build" in missing.value.user_message
    _build(tmp_settings, fake_embedder)
    with pytest.raises(IndexMismatchError) as err:
        open_index(tmp_settings.index_dir, tmp_settings, "another-model")
    assert "xây lại" in err.value.user_message


def test_build_failing_half_way_leaves_previous_index_answering(tmp_settings, fake_embedder, tmp_path):
    _build(tmp_settings, fake_embedder)
    before = current_generation(tmp_settings.index_dir)

    class Exploding(type(fake_embedder)):
        def embed_documents(self, texts):
            raise RuntimeError("disk on fire")

    changed = tmp_path / "other.txt"
    changed.write_text(SEED.read_text(encoding="utf-8").replace("0,71%", "0,72%"), encoding="utf-8")
    with pytest.raises(RuntimeError):
        build_index([SEED, changed], tmp_settings, fake_embedder.name, lambda: Exploding())
    assert current_generation(tmp_settings.index_dir) == before
    opened = open_index(tmp_settings.index_dir, tmp_settings, fake_embedder.name)
    assert opened.collection.count() == len(opened.chunks)
    assert _build(tmp_settings, fake_embedder, [SEED, changed]).documents == 2  # and a rebuild succeeds


def test_second_builder_is_told_the_index_is_busy(tmp_settings, fake_embedder):
    with build_lock(tmp_settings.index_dir):
        with pytest.raises(IndexBusyError) as err:
            _build(tmp_settings, fake_embedder)
    assert "đang xây chỉ mục" in err.value.user_message


def test_corrupted_generation_is_a_clear_error(tmp_settings, fake_embedder):
    _build(tmp_settings, fake_embedder)
    gen = tmp_settings.index_dir / current_generation(tmp_settings.index_dir)
    (gen / "chunks.jsonl").write_text("{broken", encoding="utf-8")
    with pytest.raises(IndexMismatchError) as err:
        open_index(tmp_settings.index_dir, tmp_settings, fake_embedder.name)
    assert "hỏng" in err.value.user_message


def _cli(*args, env_index):
    env = {"TLNQ_INDEX_DIR": str(env_index), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "index", *args], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("name, content", [
    ("missing.txt", None), ("empty.txt", b""), ("binary.txt", b"\x00\xff\x00"),
    ("novel.txt", "Ngày xưa có một cô bé.\nCô bé đi chợ.".encode()),
])
def test_cli_build_refuses_bad_input_and_leaves_index(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = _cli("build", str(path), env_index=tmp_path / "index")
    assert result.returncode != 0
    assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_cli_tree_json_of_the_seed(tmp_path):
    import json

    result = _cli("tree", str(SEED), "--json", env_index=tmp_path / "index")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 59 and rows[0]["clause_id"] == "HEADER" and rows[-1]["clause_id"] == "CLOSING"
    assert {"clause_id", "label", "title", "text"} == set(rows[0])
