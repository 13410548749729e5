"""A conversation as a document officials paste into reports: Markdown or .docx, each answer with its
citations and the quoted text. Pure functions over the chat's stored messages (no Streamlit)."""
from __future__ import annotations

import io
from datetime import datetime

from ui.text import cited_label


def turns(messages: list[dict]) -> list[tuple[str, dict]]:
    """(question, answer dict) for each answered question, in order."""
    return [(m.get("question") or "", m["answer"]) for m in messages if m.get("role") == "assistant" and m.get("answer")]


def answer_markdown(question: str, answer: dict, doc_names: dict[str, str] | None = None) -> str:
    r"""One answer with its grounds.

    >>> print(answer_markdown("GRDP 2024?", {"answer": "Tăng 7,5-8% (chỉ tiêu (1)).", "answerable": True,
    ...       "citations": [{"clause_id": "C1", "label": "chỉ tiêu (1)", "quote": "GRDP tăng 7,5-8%", "doc": "a"}]}))
    **Hỏi:** GRDP 2024?
    <BLANKLINE>
    **Trả lời:** Tăng 7,5-8% (chỉ tiêu (1)).
    <BLANKLINE>
    Căn cứ:
    - chỉ tiêu (1): “GRDP tăng 7,5-8%”
    """
    names = doc_names or {}
    lines = [f"**Hỏi:** {question.strip()}", "", f"**Trả lời:** {answer['answer'].strip()}"]
    if answer.get("answerable") and answer.get("citations"):
        lines += ["", "Căn cứ:"] + [f"- {cited_label(c, names)}: “{c['quote'].strip()}”" for c in answer["citations"]]
    return "\n".join(lines)


def conversation_markdown(messages: list[dict], doc_names: dict[str, str] | None = None,
                          when: datetime | None = None) -> str:
    when = when or datetime.now()
    parts = [f"# Hỏi đáp về nghị quyết — {when:%d/%m/%Y %H:%M}"]
    parts += [answer_markdown(q, a, doc_names) for q, a in turns(messages)]
    return "\n\n".join(parts) + "\n"


def conversation_docx(messages: list[dict], doc_names: dict[str, str] | None = None,
                      when: datetime | None = None) -> bytes:
    """The same content as a Word document (python-docx): a heading, then question, answer and grounds."""
    from docx import Document

    names = doc_names or {}
    when = when or datetime.now()
    doc = Document()
    doc.add_heading(f"Hỏi đáp về nghị quyết — {when:%d/%m/%Y %H:%M}", level=1)
    for question, answer in turns(messages):
        p = doc.add_paragraph()
        p.add_run("Hỏi: ").bold = True
        p.add_run(question.strip())
        p = doc.add_paragraph()
        p.add_run("Trả lời: ").bold = True
        p.add_run(answer["answer"].strip())
        if answer.get("answerable") and answer.get("citations"):
            doc.add_paragraph("Căn cứ:")
            for c in answer["citations"]:
                doc.add_paragraph(f"{cited_label(c, names)}: “{c['quote'].strip()}”", style="List Bullet")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
