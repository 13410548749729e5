"""assistant.targets: the 21 targets of the bundled resolution, parsed from its clause tree (no model)."""
from __future__ import annotations

import csv
import io

import pytest

from assistant.targets import find_result, parse_targets, split_indicator, targets_csv
from index.load import load_document
from index.parse import parse_clauses
from tests.conftest import SEED


@pytest.fixture(scope="module")
def clauses() -> list[dict]:
    return [{"doc": "nq", **c.to_dict()} for c in parse_clauses(load_document(SEED))]


@pytest.fixture(scope="module")
def rows(clauses):
    return parse_targets(clauses)


@pytest.fixture(scope="module")
def by_number(rows):
    return {r.number: r for r in rows}


def test_every_target_once_in_order(rows):
    assert [r.number for r in rows] == list(range(1, 22))
    assert all(r.clause_id.endswith(f"/CT{r.number}") for r in rows)
    assert all(r.label.startswith(f"chỉ tiêu ({r.number})") for r in rows)


def test_area_is_the_parent_section_title(rows):
    areas = [r.area for r in rows]
    assert areas.count("Về kinh tế") == 9
    assert areas.count("Về xã hội") == 10
    assert areas.count("Về môi trường, đô thị") == 2


def test_indicator_and_target_are_verbatim(rows):
    for r in rows:
        assert r.indicator and r.target_2024, r.number
        assert r.indicator in r.text and r.target_2024 in r.text, r.number
        assert r.text.index(r.indicator) <= r.text.index(r.target_2024) or r.text.startswith(r.target_2024)


@pytest.mark.parametrize("number, indicator, target", [
    (1, "Tổng sản phẩm trên địa bàn tính theo giá so sánh (GRDP)", "tăng 7,5-8%, phân đầu trên 8%"),
    (3, "Cơ cấu kinh tế", "công nghiệp, xây dựng 63% - thương mại, dịch vụ 30,5% - nông nghiệp, thủy sản 6,5%"),
    (4, "Tổng sản phẩm bình quân đầu người (GRDP/người)", "121 triệu đồng"),
    (9, "Giá trị sản phẩm trên 1ha đất trồng trọt và mặt nước nuôi trồng thủy sản", "đạt 245 triệu đồng"),
    (15, "Tỷ lệ hộ nghèo", "giảm còn 0,71%"),
    (17, "xã đạt chuẩn nông thôn mới nâng cao", None),  # starts with its figure: the target is the whole text
    (19, "Số người tập luyện thể dục thể thao thường xuyên", None),
    (21, "Tỷ lệ đô thị hóa", "đạt 46%"),
])
def test_indicator_is_the_text_up_to_the_first_figure(by_number, number, indicator, target):
    row = by_number[number]
    assert row.indicator == indicator
    if target is not None:
        assert row.target_2024 == target
    if number == 17:
        assert row.target_2024.startswith("100% xã đạt chuẩn nông thôn mới nâng cao; 30% số xã")


@pytest.mark.parametrize("number, result", [
    (1, "Tổng sản phẩm (GRDP) tăng 10,05%"),
    (2, "Chỉ số sản xuất công nghiệp tăng 6,35%"),
    (3, "Cơ cấu kinh tế: công nghiệp, xây dựng 61,7%; thương mại, dịch vụ 31,3%; nông nghiệp, thủy sản 7%"),
    (4, "Tổng sản phẩm bình quân đầu người đạt 110,4 triệu đồng"),
    (12, "tỷ lệ lao động qua đào tạo đạt trên 69%"),
    (13, "tỷ lệ người dân tham gia bảo hiểm y tế đạt 93,8%"),
    (14, "tỷ lệ xã được công nhận đạt chuẩn quốc gia về y tế đạt 30% theo chuẩn mới"),
    (15, "tỷ lệ hộ nghèo giảm còn dưới 0,9%"),
])
def test_2023_result_found_where_article_1_states_it(by_number, number, result):
    assert by_number[number].result_2023 == result
    assert by_number[number].result_clause_id == "D1/K1"


@pytest.mark.parametrize("number", [9, 11, 16, 18, 19, 20, 21])
def test_2023_result_left_empty_when_article_1_is_silent(by_number, number):
    """Empty beats wrong: no sentence of Điều 1 reports these indicators."""
    assert by_number[number].result_2023 == ""
    assert by_number[number].result_clause_id == ""


def test_2023_results_are_verbatim_from_article_1(rows, clauses):
    sources = {c["clause_id"]: c["text"] for c in clauses if c["clause_id"] in ("D1/K1", "D1/K2")}
    found = [r for r in rows if r.result_2023]
    assert len(found) >= 10
    for r in found:
        assert r.result_2023 in sources[r.result_clause_id], r.number


def test_no_article_1_means_no_2023_results(clauses):
    without = [c for c in clauses if not c["clause_id"].startswith("D1")]
    rows = parse_targets(without)
    assert len(rows) == 21 and all(r.result_2023 == "" for r in rows)


def test_find_result_needs_a_clear_winner():
    sentences = ("tỷ lệ hộ nghèo giảm còn dưới 0,9%", "Tổng sản phẩm (GRDP) tăng 10,05%",
                 "tạo việc làm mới cho 2,4 vạn lao động", "Chỉ số sản xuất công nghiệp tăng 6,35%")
    other = [("D1/K1", s, s) for s in sentences]
    school = ("D1/K1", "tỷ lệ trường đạt chuẩn quốc gia 76,49%", "tỷ lệ trường đạt chuẩn quốc gia 76,49%")
    rival = ("D1/K2", "tỷ lệ trường đạt chuẩn quốc gia 80%", "tỷ lệ trường đạt chuẩn quốc gia 80%")
    indicator = "Tỷ lệ trường học các cấp đạt chuẩn quốc gia"
    assert find_result(indicator, [school, *other]) == (school[1], "D1/K1")
    assert find_result(indicator, [school, rival, *other]) == ("", "")  # two candidates: say nothing
    assert find_result("Tuổi thọ trung bình", [school, *other]) == ("", "")
    assert find_result(indicator, []) == ("", "")


@pytest.mark.parametrize("number, percent", [(10, 93.85), (15, 0.71), (17, 100.0), (19, 36.5), (21, 46.0),
                                             (1, None), (2, None), (3, None), (11, None), (4, None)])
def test_percent_only_for_levels(by_number, number, percent):
    """Growth rates, ranges, shares and ceilings are not levels to put on one chart."""
    assert by_number[number].percent == percent


def test_split_indicator_examples():
    assert split_indicator("Tỷ lệ hộ nghèo giảm còn 0,71%.") == ("Tỷ lệ hộ nghèo", "giảm còn 0,71%")
    assert split_indicator("Thu ngân sách 32.823 tỷ đồng.") == ("Thu ngân sách", "32.823 tỷ đồng")
    assert split_indicator("Số huy chương: 126 huy chương.") == ("Số huy chương", "126 huy chương")


def test_doc_filter(clauses):
    other = [dict(c, doc="khac") for c in clauses]
    assert len(parse_targets(clauses + other)) == 42
    only = parse_targets(clauses + other, doc="khac")
    assert len(only) == 21 and {r.doc for r in only} == {"khac"}


def test_no_numbered_targets_gives_no_rows(clauses):
    assert parse_targets([c for c in clauses if c["kind"] != "CT"]) == []


def test_csv_has_a_header_and_one_line_per_target(rows):
    table = list(csv.reader(io.StringIO(targets_csv(rows))))
    assert table[0][:5] == ["Số", "Lĩnh vực", "Chỉ tiêu", "Mục tiêu 2024", "Kết quả 2023"]
    assert len(table) == 22
    assert table[15][0] == "15" and table[15][3] == "giảm còn 0,71%" and table[15][6] == "D2/K2/M2.2/CT15"


def test_csv_cells_cannot_run_as_formulas_and_the_separator_is_a_choice(rows):
    from dataclasses import replace

    hostile = [replace(rows[0], indicator='=HYPERLINK("http://x","bấm")'), replace(rows[1], indicator="@SUM(1)")]
    table = list(csv.reader(io.StringIO(targets_csv(hostile, sep=";")), delimiter=";"))
    cells = [cell for row in table for cell in row]
    assert not any(cell[:1] in "=+-@" for cell in cells)
    assert table[1][2] == "'=HYPERLINK(\"http://x\",\"bấm\")" and table[2][2] == "'@SUM(1)"
