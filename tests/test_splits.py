"""The question splits of issue #12: test pinned by hash, writers and documents kept apart."""
from __future__ import annotations

import hashlib
import json

from tests.conftest import REPO

SPLITS = json.loads((REPO / "eval" / "splits.json").read_text(encoding="utf-8"))


def _rows(rel: str) -> list[dict]:
    return [json.loads(line) for line in (REPO / rel).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_test_split_is_frozen():
    pinned = dict(line.split("  ")[::-1] for line in (REPO / "eval/blind/TEST_SHA256SUMS").read_text().splitlines())
    assert sorted(pinned) == sorted(SPLITS["test"])
    for rel, digest in pinned.items():
        assert hashlib.sha256((REPO / rel).read_bytes()).hexdigest() == digest, rel


def test_splits_do_not_share_writers_or_documents():
    docs = {name: {r.get("doc", "nq-412-2023-hung-yen.txt") for rel in files for r in _rows(rel)}
            for name, files in SPLITS.items() if name in ("train", "dev", "test")}
    files = [f for name in ("train", "dev", "test") for f in SPLITS[name]]
    assert len(files) == len(set(files))
    assert not docs["test"] & (docs["train"] | docs["dev"])
    assert docs["train"] & docs["dev"] <= {"nq-412-2023-hung-yen.txt"}
    assert sum(len(_rows(f)) for f in files) >= 1000


def test_blind_facts_and_evidence_are_in_their_documents():
    import unicodedata

    from eval.blind_gold import _doc_path

    for name in ("train", "dev", "test"):
        for rel in SPLITS[name]:
            if "blind" not in rel:
                continue
            for row in _rows(rel):
                text = " ".join(unicodedata.normalize("NFC", _doc_path(row["doc"]).read_text(encoding="utf-8")).split())
                for piece in row["facts"] + ([row["evidence"]] if row["evidence"] else []):
                    assert " ".join(unicodedata.normalize("NFC", piece).split()) in text, (row["id"], piece)
