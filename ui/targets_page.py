"""Chỉ tiêu: the numbered targets as a table (assistant.targets), CSV, a chart of comparable figures.

On a narrow screen (a phone) the table, whose columns would run off the screen, gives way to one card per
target (CSS media query on the two keyed containers; both are drawn, one is shown)."""
from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import streamlit as st

from assistant.targets import parse_targets, plan_year, targets_csv
from ui import state
from ui.components import show_clause
from ui.text import escape_markdown

ROW_HEIGHT = 96  # four wrapped lines: the verbatim targets are long


def render(assistant, settings, doc: str | None) -> None:
    rows = parse_targets(assistant.index.clauses, doc=doc)
    titles = {d["key"]: d.get("title", "") for d in assistant.index.documents}
    years = {plan_year(titles.get(r.doc, "")) for r in rows}
    year = years.pop() if len(years) == 1 else None
    target_col = f"Mục tiêu {year}" if year else "Mục tiêu"
    result_col = f"Kết quả {year - 1}" if year else "Kết quả năm trước"
    st.header(f"Chỉ tiêu chủ yếu năm {year}" if year else "Chỉ tiêu chủ yếu")
    if not rows:
        st.info("Văn bản đang chọn không có danh sách chỉ tiêu được đánh số (1), (2), …")
        return
    st.caption(f"{len(rows)} chỉ tiêu, trích nguyên văn từ nghị quyết. Cột “{result_col}” lấy nguyên câu của "
               "Điều 1 khi câu đó nêu rõ cùng chỉ tiêu; ô trống nghĩa là Điều 1 không nêu rõ — không suy đoán. "
               "Chọn một dòng để xem nguyên văn điều khoản.")
    multi = len({r.doc for r in rows}) > 1
    frame = pd.DataFrame([{
        "Số": r.number,
        "Lĩnh vực": r.area,
        "Chỉ tiêu": r.indicator,
        target_col: r.target_2024,
        result_col: r.result_2023,
        "Điều khoản": f"?trang=tra-cuu&dieu={quote(r.clause_id, safe='')}#{r.label}",
        **({"Văn bản": r.doc} if multi else {}),
    } for r in rows])
    with st.container(key="tlnq-cards"):
        _cards(rows, target_col, result_col)
    with st.container(key="tlnq-table"):
        event = _table(frame, target_col, result_col)
    selected = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if selected:  # right under the table, not below the download and the chart
        _detail(rows[selected[0]], assistant, result_col)
    sep = st.radio("Dấu phân cách trong tệp CSV", [";", ","], horizontal=True, key="csv_sep",
                   format_func=lambda s: "dấu chấm phẩy (Excel tiếng Việt)" if s == ";" else "dấu phẩy")
    st.download_button("Tải bảng chỉ tiêu (CSV)", icon=":material/download:",
                       data=targets_csv(rows, year, sep=sep).encode("utf-8-sig"), mime="text/csv",
                       key="targets_csv", file_name=f"chi-tieu-{year or 'nghi-quyet'}.csv")
    _chart(rows, year)


def _table(frame, target_col: str, result_col: str):
    return st.dataframe(
        frame, hide_index=True, width="stretch", key="targets_table",
        row_height=ROW_HEIGHT, height=min(560, 38 + ROW_HEIGHT * len(frame)),
        on_select="rerun", selection_mode="single-row",
        column_config={
            "Số": st.column_config.NumberColumn(width=48, format="(%d)"),
            "Lĩnh vực": st.column_config.TextColumn(width=90),
            "Chỉ tiêu": st.column_config.TextColumn(width=190),
            target_col: st.column_config.TextColumn(width=240),
            result_col: st.column_config.TextColumn(width=240),
            "Điều khoản": st.column_config.LinkColumn(
                width=150, display_text=r"#(.*)$",
                help="Mở điều khoản trong trang Tra cứu"),
        },
    )


def _cards(rows, target_col: str, result_col: str) -> None:
    """One card per target for a phone: indicator, target, last year's result, a link to the clause."""
    for r in rows:
        with st.container(border=True):
            st.markdown(f"**({r.number}) {escape_markdown(r.indicator)}**  \n"
                        f"{escape_markdown(target_col)}: {escape_markdown(r.target_2024)}"
                        + (f"  \n{escape_markdown(result_col)}: {escape_markdown(r.result_2023)}" if r.result_2023 else "")
                        + f"  \n[{escape_markdown(r.label)}](?trang=tra-cuu&dieu={quote(r.clause_id, safe='')})")


def _detail(row, assistant, result_col: str) -> None:
    clauses = state.clauses_by_id(assistant, None)
    by_id = {cid: c for (d, cid), c in clauses.items() if d == row.doc}
    with st.container(border=True):
        st.markdown(f"**Chỉ tiêu ({row.number}) — {escape_markdown(row.label)}**")
        clause = by_id.get(row.clause_id)
        if clause is not None:
            show_clause(clause, by_id, quote=row.target_2024)
        if row.result_2023:
            st.markdown(f"**{result_col}** (Điều 1):")
            source = by_id.get(row.result_clause_id)
            if source is not None:
                show_clause(source, by_id, quote=row.result_2023)
            else:
                st.text(row.result_2023)


def _chart(rows, year: int | None) -> None:
    """Only percentages that are levels to reach (not growth rates, ranges or shares) share the chart."""
    points = [(r, r.percent) for r in rows if r.percent is not None]
    if len(points) < 2:
        return
    import altair as alt

    st.subheader(f"Các chỉ tiêu tỷ lệ (%) năm {year}" if year else "Các chỉ tiêu tỷ lệ (%)")
    st.caption("Chỉ gồm các chỉ tiêu là một tỷ lệ cần đạt; không gồm tốc độ tăng, khoảng giá trị hay cơ cấu.")
    data = pd.DataFrame([{
        "Chỉ tiêu": f"({r.number}) {_short(r.indicator)}",
        "Mục tiêu (%)": value,
        "Mục tiêu": percent_vi(value),
        "Loại": LOWER if r.lower_is_better else REACH,
        "Nguyên văn": r.target_2024[:120],
    } for r, value in points])
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y("Chỉ tiêu:N", sort=None, title=None, axis=alt.Axis(labelLimit=360)),
        x=alt.X("Mục tiêu (%):Q", scale=alt.Scale(domain=[0, 100]), title="Mục tiêu (%)",
                axis=alt.Axis(labelExpr="replace(datum.label, '.', ',')")),
        color=alt.Color("Loại:N", scale=alt.Scale(domain=[REACH, LOWER], range=["#4c78a8", "#e45756"]),
                        legend=alt.Legend(title=None, orient="bottom")),
        tooltip=["Chỉ tiêu", "Mục tiêu", "Loại", "Nguyên văn"],
    )
    labels = chart.mark_text(align="left", dx=3).encode(text="Mục tiêu:N", color=alt.value("#6b7280"))
    st.altair_chart((chart + labels).properties(height=28 * len(points) + 20), width="stretch")


REACH = "Cần đạt (càng cao càng tốt)"
LOWER = "Cần giảm xuống (càng thấp càng tốt)"


def percent_vi(value: float) -> str:
    """A percentage written the Vietnamese way, decimal comma.

    >>> percent_vi(93.85), percent_vi(46.0), percent_vi(0.71)
    ('93,85%', '46%', '0,71%')
    """
    return f"{value:.4f}".rstrip("0").rstrip(".").replace(".", ",") + "%"


def _short(text: str, limit: int = 55) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
