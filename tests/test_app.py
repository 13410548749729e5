"""The Streamlit app through streamlit.testing (AppTest), over the real index built once per session: what
depends on real retrieval (page structure on fakes: tests/test_app_pages.py).

Also the pure helpers behind the pages (ui/text.py), feedback records and upload checks.
"""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import REPO, app_env_vars, app_settings_env, started_app

APP = str(REPO / "app.py")
TIMEOUT = 180  # the first run loads the model; later runs take well under a second
GRDP_QUESTION = "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?"


@pytest.fixture(scope="session")
def app_paths(real_settings, real_assistant, tmp_path_factory) -> dict[str, str]:
    """The session's real index (``real_assistant`` has built it once) and a folder for feedback and logs."""
    return app_env_vars(real_settings.index_dir, tmp_path_factory.mktemp("app"))


@pytest.fixture
def app_env(app_paths, monkeypatch):
    """The app reads its settings from TLNQ_* variables: set them for this test only."""
    with app_settings_env(app_paths, monkeypatch) as settings:
        yield settings


@pytest.fixture
def at(app_env):
    return started_app(APP, TIMEOUT)


def _plain(markdown: str) -> str:
    r"""Undo escape_markdown: '7,5\-8%' -> '7,5-8%'."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("  \n", "\n")


def _messages(at, role: str):
    return [m for m in at.chat_message if m.name == role]


def _ask(at, text: str):
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


def _go(at, page: str):
    at.radio(key="page").set_value(page).run()
    assert not at.exception, at.exception
    return at


# -- Hỏi đáp -------------------------------------------------------------------
def test_question_gets_an_answer_with_its_citation(at):
    _ask(at, GRDP_QUESTION)
    user, = _messages(at, "user")
    assert user.text[0].value == GRDP_QUESTION
    answer, = _messages(at, "assistant")
    text = _plain(answer.markdown[0].value)
    assert "7,5-8%" in text
    labels = [_plain(e.label) for e in answer.expander]
    assert "chỉ tiêu (1), mục 2.1, khoản 2, Điều 2" in labels
    citation = answer.expander[labels.index("chỉ tiêu (1), mục 2.1, khoản 2, Điều 2")]
    shown = " ".join(m.value for m in citation.markdown)
    assert "<mark>Tổng sản phẩm trên địa bàn tính theo giá so sánh (GRDP) tăng 7,5-8%" in shown
    assert "Các chỉ tiêu chủ yếu" in shown and "2.1. Về kinh tế" in shown  # the breadcrumb
    assert not at.error


def test_question_outside_the_resolution_shows_nearest_clauses(at):
    _ask(at, "Giá vàng năm 2024 là bao nhiêu?")
    answer, = _messages(at, "assistant")
    assert "không quy định" in _plain(answer.markdown[0].value)
    assert answer.expander, "the nearest clauses are offered"
    assert any("gần nhất" in c.value for c in answer.caption)


def test_history_is_kept_and_passed_on(at):
    _ask(at, GRDP_QUESTION)
    _ask(at, "còn năm 2023 thì sao?")
    answers = _messages(at, "assistant")
    assert len(answers) == 2 and "10,05%" in _plain(answers[1].markdown[0].value)
    assert [m["role"] for m in at.session_state["messages"]] == ["user", "assistant"] * 2


def test_a_question_cut_off_mid_answer_is_answered_on_the_next_run(at):
    """A rerun during an answer (another click, a reconnect) must not lose the question."""
    at.session_state["pending_question"] = GRDP_QUESTION  # what an interrupted run leaves behind
    at.run()
    assert not at.exception
    answer, = _messages(at, "assistant")
    assert "7,5-8%" in _plain(answer.markdown[0].value)
    assert "pending_question" not in at.session_state and not at.chat_input[0].disabled


def test_fuller_answer_from_the_local_model_sits_under_the_verbatim_one(at):
    """The real Qwen GGUF: slow (about 10-40 s here), offered per answer, timed, checked like every answer."""
    _ask(at, "Năm 2023 chỉ số sản xuất công nghiệp tăng bao nhiêu?")
    answer, = _messages(at, "assistant")
    verbatim = _plain(answer.markdown[0].value)
    button = next(b for b in answer.button if b.key and b.key.startswith("fuller-"))
    button.click().run(timeout=600)
    assert not at.exception and not at.error, at.exception
    answer, = _messages(at, "assistant")
    assert _plain(answer.markdown[0].value) == verbatim  # the instant answer stays
    captions = " ".join(c.value for c in answer.caption)
    assert "chữ đầu tiên sau" in captions
    fuller = at.session_state["messages"][-1]["fuller"]
    assert fuller["backend"] == "llamacpp" and "6,35%" in fuller["answer"]
    assert [c["clause_id"] for c in fuller["citations"]] == ["D1/K1"]
    assert "Apache-2.0" in captions  # what model wrote it, under which terms


def test_copy_block_holds_answer_and_citations(at):
    _ask(at, GRDP_QUESTION)
    block = at.code[0].value
    assert block.startswith("Năm 2024") and "Căn cứ:" in block
    assert "- chỉ tiêu (1), mục 2.1, khoản 2, Điều 2: “Tổng sản phẩm" in block


def test_feedback_with_comment_is_appended(at, app_env):
    from assistant.feedback import load_feedback

    before = len(load_feedback(app_env.feedback_file))
    _ask(at, GRDP_QUESTION)
    at.feedback[0].set_value(1).run()
    records = load_feedback(app_env.feedback_file)
    assert len(records) == before + 1
    record = records[-1]
    assert record["rating"] == "up" and record["question"] == GRDP_QUESTION
    assert record["citations"] == ["D2/K2/M2.1/CT1"] and record["answerable"] is True
    assert record["history"] == [] and record["comment"] == ""

    mid = at.session_state["messages"][-1]["id"]
    at.text_input(key=f"comment-text-{mid}").set_value("Đúng, rõ ràng.")
    next(b for b in at.button if b.label == "Gửi nhận xét").click().run()
    records = load_feedback(app_env.feedback_file)
    assert len(records) == before + 1  # the same id: the comment completes the rating
    assert records[-1]["comment"] == "Đúng, rõ ràng." and records[-1]["rating"] == "up"
    assert any("Cảm ơn" in c.value for c in at.caption)


# -- Tra cứu điều khoản --------------------------------------------------------
def test_clause_finder_ranks_pho_hien_first(at):
    _go(at, "tra-cuu")
    at.text_input(key="finder_query").set_value("phục dựng Phố Hiến").run()
    first = _plain(at.expander[0].label)
    assert first.startswith("1. mục 3.14, khoản 3, Điều 2")
    shown = " ".join(m.value for m in at.expander[0].markdown)
    assert '<mark class="tlnq-word">Phố</mark> <mark class="tlnq-word">Hiến</mark>' in shown
    assert at.expander[0].caption[-1].value.startswith("Tìm thấy nhờ")


# -- Đánh giá ------------------------------------------------------------------
def test_uploaded_eval_set_is_validated():
    from ui.evaluation import parse_questions

    good = {"id": "a1", "question": "GRDP 2024?", "kind": "target", "gold": ["D2/K2/M2.1/CT1"],
            "facts": ["7,5-8%"], "answerable": True}
    required = ("id", "question", "kind", "gold", "facts", "answerable")
    rows = parse_questions((json.dumps(good, ensure_ascii=False) + "\n\n").encode(), required)
    assert rows[0]["history"] == [] and rows[0]["also_ok"] == []
    bad = [
        (b"{not json\n", "Dòng 1: không phải JSON"),
        (json.dumps({k: v for k, v in good.items() if k != "gold"}).encode(), "thiếu trường gold"),
        (json.dumps(good | {"question": " "}).encode(), "question"),
        (json.dumps(good | {"gold": []}).encode(), "chưa có điều khoản đúng"),
        ((json.dumps(good) + "\n" + json.dumps(good)).encode(), "Dòng 2: trùng id a1"),
        (b"", "không có câu hỏi"),
        (b"\xff\xfe", "UTF-8"),
    ]
    for data, message in bad:
        with pytest.raises(ValueError, match=message):
            parse_questions(data, required)


# -- Sidebar ---------------------------------------------------------------------
def test_sidebar_shows_document_model_and_index(at, app_env):
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert any("412/NQ" in _plain(c.value) for c in at.main.caption)  # the scope, at the top of the page
    assert "Mô hình nhúng" in sidebar and "Thế hệ chỉ mục" in sidebar
    assert "Cách trả lời: trích nguyên văn" in _plain(sidebar)
    assert "Câu trả lời đầy đủ hơn: có" in sidebar


@pytest.fixture
def without_local_model(app_env, monkeypatch, tmp_path):
    """The app's settings point at a GGUF that is not there; its cached Assistant is reloaded before and after."""
    from core.config import get_settings
    from ui.state import forget_assistant

    monkeypatch.setenv("TLNQ_LLM_GGUF_PATH", str(tmp_path / "missing.gguf"))
    get_settings.cache_clear()
    forget_assistant()
    yield
    forget_assistant()


def test_without_the_local_model_the_app_answers_and_says_why(without_local_model):
    from tests.conftest import started_app

    at = started_app(APP, TIMEOUT)
    _ask(at, GRDP_QUESTION)
    answer, = _messages(at, "assistant")
    assert "7,5-8%" in _plain(answer.markdown[0].value)
    assert not [b for b in answer.button if b.key and b.key.startswith("fuller-")]
    sidebar = _plain(" ".join(m.value for m in at.sidebar.markdown))
    assert "Câu trả lời đầy đủ hơn: không có — Chưa có mô hình Qwen" in sidebar


@pytest.mark.parametrize("name, safe", [
    ("Nghị quyết 12 (bản sửa).PDF", "nghi-quyet-12-ban-sua.pdf"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\evil.docx", "evil.docx"),
    ("   .txt", "nghi-quyet.txt"),
])
def test_uploaded_file_names_are_sanitised(name, safe):
    from ui.library import safe_file_name

    assert safe_file_name(name) == safe


# -- ui/text.py ------------------------------------------------------------------
def test_escape_markdown_leaves_nothing_to_interpret():
    from ui.text import escape_markdown

    assert escape_markdown("**a** <b> $x$ :red[y] 1. [l](u)") == \
        r"\*\*a\*\* \<b\> \$x\$ \:red\[y\] 1\. \[l\]\(u\)"


def test_highlight_escapes_then_marks():
    from ui.text import highlight_html, quote_spans

    text = "Điều <1>: a & b;\nc"
    assert highlight_html(text, [(5, 8)]) == "Điều <mark>&lt;1&gt;</mark>: a &amp; b;<br>c"
    clause = "Câu một có 7,5-8%. Câu hai cũng vậy; câu ba dài hơn."
    assert quote_spans(clause, "Câu hai cũng vậy;") == [(19, 36)]
    assert quote_spans(clause, "Câu một có 7,5-8%. câu ba dài hơn.") == [(0, 17), (37, 51)]
    assert quote_spans(clause, "") == []


def test_word_and_phrase_matching():
    from ui.text import phrase_spans, query_words, word_spans

    text = "Phố Hiến, phó chủ tịch"
    assert word_spans(text, query_words("phố")) == [(0, 3)]  # typed with accents: exact
    assert word_spans(text, query_words("pho")) == [(0, 3), (10, 13)]  # without: any accent
    assert phrase_spans(text, "PHO  hien") == [(0, 8)]
    assert phrase_spans("Đẩy mạnh", "day") == [(0, 3)]


def test_breadcrumb_walks_up_the_tree():
    from ui.text import breadcrumb

    nodes = {
        "D2": {"clause_id": "D2", "marker": "Điều 2.", "title": "Mục tiêu", "parent": None},
        "D2/K3": {"clause_id": "D2/K3", "marker": "3.", "title": "Nhiệm vụ giải pháp", "parent": "D2"},
        "D2/K3/M3.14": {"clause_id": "D2/K3/M3.14", "marker": "3.14.", "title": "", "parent": "D2/K3"},
    }
    assert breadcrumb(nodes["D2/K3/M3.14"], nodes) == ["Điều 2. Mục tiêu", "3. Nhiệm vụ giải pháp", "3.14"]


# -- assistant/feedback.py -------------------------------------------------------
def test_feedback_records_match_the_eval_schema(tmp_path):
    from assistant.feedback import append_feedback, feedback_record, load_feedback
    from assistant.types import Answer, Citation

    answer = Answer("GRDP tăng 7,5-8%.", True, [Citation("D2/K2/M2.1/CT1", "chỉ tiêu (1)", "…", 1.0, "nq")])
    history = [{"role": "user", "content": "GRDP?", "extra": 1}]
    first = feedback_record("Còn năm 2024?", history, answer, "down", "  thiếu số liệu  ")
    assert {"question", "history", "answer", "answerable", "citations", "rating", "comment", "time"} <= set(first)
    assert first["history"] == [{"role": "user", "content": "GRDP?"}] and first["comment"] == "thiếu số liệu"
    assert first["citations"] == ["D2/K2/M2.1/CT1"] and first["doc"] == "nq"
    path = tmp_path / "sub" / "feedback.jsonl"
    append_feedback(path, first)
    append_feedback(path, feedback_record("Q2", [], answer.to_dict(), "up"))
    append_feedback(path, first | {"comment": "sửa lại"})
    path.open("a").write("not json\n")
    records = load_feedback(path)
    assert [r["comment"] for r in records] == ["sửa lại", ""]
    with pytest.raises(ValueError, match="up, down"):
        feedback_record("Q", [], answer, "meh")


def test_a_missing_index_is_said_and_built_only_on_request(app_paths, tmp_path, monkeypatch):
    """The app only reads the index: none there is a message and a build button, and nothing is written."""
    from ui.state import forget_assistant

    index_dir = tmp_path / "index"
    with app_settings_env(app_paths | {"TLNQ_INDEX_DIR": str(index_dir)}, monkeypatch):
        forget_assistant()
        try:
            at = started_app(APP, TIMEOUT)
            assert any("Chưa có chỉ mục" in e.value for e in at.sidebar.error)
            assert "build_index" in {b.key for b in at.sidebar.button}
            assert not index_dir.exists() or not any(p.name.startswith("gen-") for p in index_dir.iterdir())
        finally:
            forget_assistant()
