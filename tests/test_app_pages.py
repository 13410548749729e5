"""Every page of the app under streamlit.testing (AppTest), on fakes: the fast tier catches a broken page.

The app is given its Assistant through ``ui.state.provide_assistant`` (hashing embedder, the seed indexed
with it); what depends on the real model's retrieval is in tests/test_app.py.
"""
from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import REPO, FakeEmbeddings, app_env_vars, app_settings_env, started_app
from tests.test_app import _ask, _go, _messages  # the same page helpers as the real-model tests

APP = str(REPO / "app.py")
TIMEOUT = 60


@pytest.fixture(scope="module")
def fake_app_env(fake_seed_index, tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("fake-app")
    index_dir = home / "index"
    shutil.copytree(fake_seed_index, index_dir)
    return app_env_vars(index_dir, home) | {"TLNQ_EMBEDDING_MODEL": FakeEmbeddings.name,
                                            "TLNQ_FULLER_ANSWERER": "none"}


@pytest.fixture
def at(fake_app_env, monkeypatch):
    from assistant.compose import make_assistant
    from ui import state

    embedder = FakeEmbeddings()
    with app_settings_env(fake_app_env, monkeypatch):
        state.provide_assistant(lambda settings: make_assistant(settings, embedder=embedder))
        try:
            yield started_app(APP, TIMEOUT)
        finally:
            state.provide_assistant(None)


@pytest.mark.parametrize("page", ["hoi-dap", "tra-cuu", "chi-tieu", "danh-gia"])
def test_every_page_renders_without_an_error(at, page):
    _go(at, page)
    assert not at.error and not at.exception
    assert at.session_state["page"] == page and at.query_params["trang"] in (page, [page])


def test_a_question_gets_an_answer_with_a_cited_clause(at):
    _ask(at, "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?")
    user, = _messages(at, "user")
    assert user.text[0].value == "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?"
    answer, = _messages(at, "assistant")
    assert answer.markdown[0].value.strip()
    stored = at.session_state["messages"][-1]["answer"]
    assert stored["citations"] or stored["related"]  # cited when answered, the nearest clauses when not
    shown = [e.label for e in answer.expander]
    assert shown and all(e.label for e in answer.expander)
    assert not at.error


@pytest.mark.parametrize("blank", ["", "   ", "\n\t ", "?!"])
def test_empty_question_is_refused_politely(at, blank):
    _ask(at, blank)
    assert [w.value for w in at.main.warning] == ["Vui lòng nhập câu hỏi."]
    assert not at.chat_message and not at.error


def test_the_chat_box_stops_at_the_question_limit(at):
    """A question cannot be typed longer than the assistant accepts, so none is refused and lost."""
    from core.config import get_settings

    limit = get_settings().max_question_chars
    assert at.chat_input[0].proto.max_chars == limit
    _ask(at, "tỷ lệ hộ nghèo " * (limit // 10))
    user, = _messages(at, "user")
    assert len(user.text[0].value) <= limit and len(_messages(at, "assistant")) == 1
    assert not at.error


def test_user_text_is_shown_as_text(at):
    script = "<script>alert(1)</script> **đậm** :red[đỏ]"
    _ask(at, script)
    user, = _messages(at, "user")
    assert user.text[0].value == script  # st.text: no Markdown, no HTML
    for block in at.markdown:
        assert "<script>" not in block.value


def test_sample_question_and_clear(at):
    at.button(key="sample-0").click().run()
    assert len(_messages(at, "assistant")) == 1
    at.button(key="clear_chat").click().run()
    assert not at.chat_message and at.session_state["messages"] == []


def test_clause_finder_refuses_an_empty_description(at):
    _go(at, "tra-cuu")
    at.text_input(key="finder_query").set_value("  ").run()
    assert not at.text_input(key="finder_query").value.strip() or at.warning
    assert not at.error


def test_tree_search_is_accent_insensitive(at):
    _go(at, "tra-cuu")
    at.text_input(key="tree_search").set_value("pho hien co").run()
    assert any("1 đoạn chứa" in c.value for c in at.caption)
    shown = " ".join(m.value for m in at.markdown)
    assert "<mark>Phố Hiến cổ</mark>" in shown


def test_linked_clause_opens_from_the_url(fake_app_env, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from assistant.compose import make_assistant
    from ui import state

    with app_settings_env(fake_app_env, monkeypatch):
        state.provide_assistant(lambda settings: make_assistant(settings, embedder=FakeEmbeddings()))
        try:
            at = AppTest.from_file(APP, default_timeout=TIMEOUT)
            at.query_params["trang"] = "tra-cuu"
            at.query_params["dieu"] = "D2/K2/M2.2/CT15"
            at.run()
        finally:
            state.provide_assistant(None)
    assert not at.exception
    assert any("Tỷ lệ hộ nghèo giảm còn 0,71%" in m.value for m in at.markdown)


def test_targets_table_has_21_rows(at):
    _go(at, "chi-tieu")
    table = at.dataframe[0].value
    assert len(table) == 21
    assert list(table.columns[:5]) == ["Số", "Lĩnh vực", "Chỉ tiêu", "Mục tiêu 2024", "Kết quả 2023"]
    row = table[table["Số"] == 15].iloc[0]
    assert row["Mục tiêu 2024"] == "giảm còn 0,71%" and row["Kết quả 2023"] == "tỷ lệ hộ nghèo giảm còn dưới 0,9%"
    assert "dieu=D2%2FK2%2FM2.2%2FCT15" in row["Điều khoản"]
    assert not at.error


def test_targets_are_also_cards_for_a_phone(at):
    """Both views are drawn (CSS shows the table on a wide screen, the cards on a phone; the browser test
    checks which is visible): one card per target, with its figure and a link to its clause."""
    _go(at, "chi-tieu")
    cards = " ".join(m.value for m in at.markdown)
    assert "**(15) Tỷ lệ hộ nghèo**" in cards and "giảm còn 0,71%" in cards
    assert "dieu=D2%2FK2%2FM2.2%2FCT15" in cards
    assert not at.error


def test_an_answer_offers_follow_ups_from_the_document_and_one_asks_it(at):
    """Under a cited target: the earlier year's result of the same indicator and the clause that holds it,
    built from the tree, never an invented topic; clicking one asks it."""
    _ask(at, "Tỷ lệ hộ nghèo năm 2024 phấn đấu giảm còn bao nhiêu?")
    offered = [b for b in at.button if b.key and b.key.startswith("next-")]
    labels = [b.label for b in offered]
    assert "Tỷ lệ hộ nghèo năm 2023 đạt bao nhiêu?" in labels, labels
    assert any(label.startswith("Mục 2.2") and label.endswith("quy định những gì?") for label in labels), labels
    assert 2 <= len(offered) <= 3
    offered[0].click().run()
    assert not at.exception
    users = [m.text[0].value for m in _messages(at, "user")]
    assert users[-1] == labels[0]
    assert len(_messages(at, "assistant")) == 2


def test_eval_page_runs_a_few_questions(at):
    _go(at, "danh-gia")
    at.number_input(key="eval_limit").set_value(3).run()
    at.button(key="eval_run").click().run()
    assert not at.exception and not at.error
    assert any("Đã chấm 3 câu hỏi" in s.value for s in at.success)
    assert any("lấy đều theo loại" in c.value for c in at.caption)  # a sample across kinds, not the first 3
    assert len(at.dataframe) >= 2  # headline + per kind (+ failures)


def test_while_the_models_load_the_page_takes_a_question_and_answers_it_when_ready(fake_app_env, monkeypatch):
    """The chat box is there before the Assistant is; a question typed meanwhile is kept and answered."""
    import threading

    from streamlit.testing.v1 import AppTest

    from assistant.compose import make_assistant
    from ui import chat, state

    ready = threading.Event()

    def slow(settings):
        ready.wait(30)
        return make_assistant(settings, embedder=FakeEmbeddings())

    monkeypatch.setattr(chat, "WAIT_POLL_S", 0.05)
    with app_settings_env(fake_app_env, monkeypatch):
        state.provide_assistant(slow)
        try:
            at = AppTest.from_file(APP, default_timeout=TIMEOUT)
            timer = threading.Timer(2.0, ready.set)  # the 'model' is ready two seconds after the page
            timer.start()
            at.run()  # polls (reruns) until the assistant is there
            timer.join()
            assert not at.exception, at.exception
            assert at.chat_input and not at.chat_input[0].disabled
            _ask(at, "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?")
            assert len(_messages(at, "assistant")) == 1
            assert any("Trả lời sau" in c.value for c in at.caption)
        finally:
            state.provide_assistant(None)


def test_a_question_typed_while_loading_is_kept(fake_app_env, monkeypatch):
    """One run of the waiting page (the model never arrives): the notice, the chat box, the question kept."""
    from streamlit.testing.v1 import AppTest

    from ui import chat, state

    class Never:
        def done(self):
            return False

    monkeypatch.setattr(chat, "WAIT_POLL_S", 0.0)
    with app_settings_env(fake_app_env, monkeypatch):
        monkeypatch.setattr(state, "start_loading", lambda: state.Loading(Never()))
        monkeypatch.setattr(chat.st, "rerun", lambda: None)  # no polling: show the waiting page once
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.run()
        assert any("Đang tải mô hình" in i.value for i in at.info)
        at.chat_input[0].set_value("Tỷ lệ hộ nghèo năm 2024?").run()
    assert at.session_state["queued_question"] == "Tỷ lệ hộ nghèo năm 2024?"
    user, = _messages(at, "user")
    assert user.text[0].value == "Tỷ lệ hộ nghèo năm 2024?"
    # Stored as pending under the conversation the URL names: a reload while loading keeps it too.
    import json
    from pathlib import Path

    cid = at.query_params["hoi"]
    cid = cid[0] if isinstance(cid, list) else cid
    stored = json.loads((Path(fake_app_env["TLNQ_INDEX_DIR"]).parent / "conversations" / f"{cid}.json").read_text())
    assert stored["pending"] == "Tỷ lệ hộ nghèo năm 2024?" and stored["messages"] == []


def test_a_broken_assistant_is_a_message_not_a_traceback(fake_app_env, monkeypatch):
    from ui import state

    def broken(settings):
        raise RuntimeError("boom")

    with app_settings_env(fake_app_env, monkeypatch):
        state.provide_assistant(broken)
        try:
            at = started_app(APP, TIMEOUT)
        finally:
            state.provide_assistant(None)
    assert any("Không tải được trợ lý" in e.value for e in at.error)


def test_a_conversation_exports_to_word_and_markdown_with_its_grounds(at):
    import io

    from docx import Document

    from ui.export import conversation_docx, conversation_markdown

    _ask(at, "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?")
    messages = at.session_state["messages"]
    assert {b.key for b in at.get("download_button")} >= {"export_docx", "export_md"}
    answer = messages[-1]["answer"]
    text = conversation_markdown(messages)
    assert "**Hỏi:** Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?" in text
    assert answer["answer"].strip() in text
    for c in answer["citations"]:
        assert f"- {c['label']}: “{c['quote'].strip()}”" in text
    words = " ".join(p.text for p in Document(io.BytesIO(conversation_docx(messages))).paragraphs)
    assert answer["answer"].strip() in words and all(c["label"] in words for c in answer["citations"])


def test_citations_name_their_document_when_several_are_indexed():
    from ui.chat import copy_text

    answer = {"answer": "X.", "answerable": True,
              "citations": [{"clause_id": "D7", "label": "Điều 7", "quote": "q", "doc": "a"}]}
    assert "Điều 7 · Nghị quyết 5/NQ-HĐND: “q”" in copy_text(answer, {"a": "Nghị quyết 5/NQ-HĐND", "b": "QĐ 9"})
    assert "- Điều 7: “q”" in copy_text(answer, {"a": "Nghị quyết 5/NQ-HĐND"})


@pytest.fixture
def start(fake_app_env, monkeypatch):
    """start(**more_env): the app on fakes with these TLNQ_* variables too, kept until the test ends."""
    from assistant.compose import make_assistant
    from core.config import get_settings
    from ui import state

    def started(**extra):
        for name, value in (fake_app_env | extra).items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        state.provide_assistant(lambda settings: make_assistant(settings, embedder=FakeEmbeddings()))
        return started_app(APP, TIMEOUT)

    yield started
    state.provide_assistant(None)
    monkeypatch.undo()
    get_settings.cache_clear()


def test_admin_token_guards_upload_and_rebuild(fake_app_env, monkeypatch):
    """With TLNQ_ADMIN_TOKEN set, anyone may ask, but only a session that typed the token may change the
    shared index: before it, no uploader and no rebuild button; a wrong token is told; the right one opens both."""
    from assistant.compose import make_assistant
    from ui import state

    with app_settings_env(fake_app_env | {"TLNQ_ADMIN_TOKEN": "mật-khẩu-văn-phòng"}, monkeypatch):
        state.provide_assistant(lambda settings: make_assistant(settings, embedder=FakeEmbeddings()))
        try:
            at = started_app(APP, TIMEOUT)
            keys = {b.key for b in at.sidebar.button}
            assert "rebuild" not in keys and not at.sidebar.get("file_uploader")
            assert "Chỉ quản trị viên" in " ".join(c.value for c in at.sidebar.caption)
            at.sidebar.text_input(key="admin-upload").set_value("sai").run()
            assert "Mã quản trị không đúng." in [e.value for e in at.sidebar.error]
            assert "rebuild" not in {b.key for b in at.sidebar.button}
            at.sidebar.text_input(key="admin-upload").set_value("mật-khẩu-văn-phòng").run()
            assert not at.exception, at.exception
            assert "rebuild" in {b.key for b in at.sidebar.button}
            _ask(at, "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?")  # asking never needed the token
            assert len(_messages(at, "assistant")) == 1
        finally:
            state.provide_assistant(None)


def test_a_read_only_deployment_offers_no_upload_and_no_rebuild(start):
    at = start(TLNQ_READ_ONLY="true")
    assert "rebuild" not in {b.key for b in at.sidebar.button} and not at.sidebar.get("file_uploader")
    assert not any("Thêm nghị quyết" in e.label for e in at.sidebar.expander)
    assert any(e.label.startswith("Thư viện văn bản (1)") for e in at.sidebar.expander)
    _ask(at, "Tỷ lệ hộ nghèo năm 2024?")  # answering is unchanged
    assert len(_messages(at, "assistant")) == 1


def test_the_library_lists_who_added_what(start, monkeypatch, tmp_path):
    import json

    from ui import library

    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / library.LIBRARY_LOG).write_text(json.dumps({"file": "nq-412-2023-hung-yen.txt", "added_by": "Chị Lan",
                                                        "added_at": "2026-11-30T08:15:00+00:00"}) + "\n")
    monkeypatch.setattr(library, "documents_dir", lambda settings: docs)
    at = start()
    shelf = next(e for e in at.sidebar.expander if e.label.startswith("Thư viện văn bản"))
    shown = re.sub(r"\\(.)", r"\1", " ".join(m.value for m in shelf.markdown))  # undo escape_markdown
    assert "thêm bởi Chị Lan lúc 2026-11-30 08:15" in shown


def test_upload_refuses_what_is_not_a_resolution(fake_app_env, tmp_path, monkeypatch):
    from ui import library

    monkeypatch.setattr(library, "documents_dir", lambda settings: tmp_path / "documents")
    with app_settings_env(fake_app_env, monkeypatch) as settings:
        assert library.add_document("ghi chú.txt", "Chỉ là một dòng ghi chú.".encode(), settings) is False
        assert library.add_document("x.exe", b"MZ", settings) is False
        assert library.add_document("rong.txt", b"", settings) is False
    assert not list((tmp_path / "documents").glob("*.*"))  # nothing left behind


# -- conversations kept across reloads ---------------------------------------------------
def test_a_conversation_survives_a_reload_and_is_deleted_on_request(start, fake_app_env):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = start()
    _ask(at, "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?")
    cid = at.query_params["hoi"]
    cid = cid[0] if isinstance(cid, list) else cid
    stored = Path(fake_app_env["TLNQ_INDEX_DIR"]).parent / "conversations" / f"{cid}.json"
    assert stored.is_file()

    again = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a reload: a new session with the same URL
    again.query_params["hoi"] = cid
    again.run()
    assert not again.exception, again.exception
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert again.session_state["messages"][1]["answer"] == at.session_state["messages"][1]["answer"]

    again.button(key="clear_chat").click().run()
    assert not again.chat_message and not stored.exists() and "hoi" not in again.query_params


def test_a_reload_before_the_answer_asks_the_question_again(start, fake_app_env):
    """The question is stored as pending when asked; a new session on the same URL (a reload mid-answer)
    answers it instead of dropping it, and the stored copy then holds the answer, nothing pending."""
    import json
    from pathlib import Path

    from core.config import get_settings
    from streamlit.testing.v1 import AppTest
    from ui import conversations

    at = start()
    settings = get_settings()
    cid = conversations.new_id()
    assert conversations.save(settings, cid, None, [], pending="Tỷ lệ hộ nghèo năm 2024 giảm còn bao nhiêu?")
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["hoi"] = cid
    again.run()
    assert not again.exception, again.exception
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert _messages(again, "user")[0].text[0].value == "Tỷ lệ hộ nghèo năm 2024 giảm còn bao nhiêu?"
    stored = json.loads((Path(fake_app_env["TLNQ_INDEX_DIR"]).parent / "conversations" / f"{cid}.json").read_text())
    assert "pending" not in stored and len(stored["messages"]) == 2
    assert at is not None


def test_conversations_are_stored_per_browser_and_never_by_path(tmp_path):
    from core.config import Settings
    from ui import conversations

    settings = Settings(index_dir=tmp_path / "index")
    first = [{"role": "user", "content": "Chỉ tiêu GRDP?"}, {"role": "assistant", "content": "7,5-8%"}]
    assert conversations.save(settings, "aaaaaaaaaaaa", "browser1", first)
    assert conversations.save(settings, "bbbbbbbbbbbb", "browser2", first)
    assert [r["id"] for r in conversations.recent(settings, "browser1")] == ["aaaaaaaaaaaa"]
    assert conversations.recent(settings, None) == []
    assert conversations.load(settings, "../../etc/passwd") is None
    with pytest.raises(ValueError):
        conversations.save(settings, "../x", "browser1", first)
    assert conversations.load(settings, "aaaaaaaaaaaa")["title"] == "Chỉ tiêu GRDP?"
    conversations.save(settings, "aaaaaaaaaaaa", "someone-else", first + first)  # the owner stays the first one
    assert conversations.load(settings, "aaaaaaaaaaaa")["owner"] == "browser1"
    (conversations.folder(settings) / "cccccccccccc.json").write_text("{not json")
    assert conversations.load(settings, "cccccccccccc") is None  # a damaged file is no conversation


def test_the_chrome_translation_table_is_well_formed_and_safe_in_a_script():
    """Every entry maps an English string to a Vietnamese one; the table cannot close its <script> early."""
    import json

    from ui.components import LOCALE_FILE, locale_script

    table = json.loads(LOCALE_FILE.read_text(encoding="utf-8"))
    for kind in ("text", "attributes"):
        assert table[kind] and all(k.isascii() and v and v != k for k, v in table[kind].items())
    for pattern, _ in table["patterns"]:
        re.compile(pattern)
    script = locale_script()
    assert script.startswith("<script>") and script.count("</script>") == 1 and script.endswith("</script>")
    assert '"Upload": "Chọn tệp"' in script
