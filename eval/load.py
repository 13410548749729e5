"""python -m eval.load: concurrent sessions against the answering API and against the Streamlit app.

(a) API: ``--sessions`` threads share one ``Assistant`` (as the app's sessions do); each asks
    ``--questions`` questions drawn from eval/questions.jsonl (follow-ups with their history).
(b) App: ``--pages`` headless Chromium pages (one browser, one context = one Streamlit session
    each) type ``--page-questions`` questions into the chat box and wait for each answer; a
    follow-up's earlier user turns are typed first, so the app builds the history itself. The
    app is started on a free loopback port unless ``--app-url`` is given.

Every loop is bounded in count and in time (``--seconds`` per phase) and talks to loopback
only. Reports errors, p50/p95/max latency, throughput and peak memory as a table (``--json``
writes the figures too).

    python -m eval.load                                   # both phases, defaults below
    python -m eval.load --sessions 20 --questions 50 --skip-app
    python -m eval.load --skip-api --pages 4 --page-questions 10
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from eval.metrics import percentile
from eval.servers import (CHROMIUM, CHROMIUM_ARGS, LOOPBACK, NotUp, free_port, start_streamlit, stop,
                          streamlit_healthy, wait_until_up)

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
CHAT_BOX = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'
ANSWER_TIMEOUT_S = 120
DONE = re.compile(r"Trả lời sau [\d,]+ giây · ")
SETTLE_MS = 300
START_TIMEOUT_S = 300


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def draw(rows: list[dict], n: int, seed: int) -> list[dict]:
    """n questions drawn with replacement, the same for the same seed."""
    rng = random.Random(seed)
    return [rng.choice(rows) for _ in range(n)]


# -- memory ------------------------------------------------------------------------
def proc_status_kib(pid: int | str, field: str) -> int | None:
    """VmRSS / VmHWM of a process from /proc, in KiB (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class RssSampler:
    """Samples the summed RSS of some processes every half second; keeps the peak (MiB)."""

    def __init__(self, pids_fn):
        self.pids_fn = pids_fn
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(proc_status_kib(pid, "VmRSS") or 0 for pid in self.pids_fn())
            self.peak_mib = max(self.peak_mib, total / 1024)
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def summary(name: str, latencies_ms: list[float], errors: list[str], attempted: int, seconds: float,
            **extra) -> dict:
    return {
        "phase": name, "asked": attempted, "answered": len(latencies_ms), "errors": len(errors),
        "p50_ms": _round(percentile(latencies_ms, 50)), "p95_ms": _round(percentile(latencies_ms, 95)),
        "max_ms": _round(max(latencies_ms) if latencies_ms else None),
        "answers_per_s": round(len(latencies_ms) / seconds, 2) if seconds else None,
        "wall_s": round(seconds, 1), "error_samples": errors[:5], **extra,
    }


def _round(value):
    return None if value is None else round(value, 1)


# -- (a) the answering API in-process -------------------------------------------------
def run_api(sessions: int, questions: int, seconds: float, seed: int) -> dict:
    from assistant.compose import make_assistant

    rows = load_questions()
    started = time.perf_counter()
    assistant = make_assistant()
    load_s = time.perf_counter() - started
    assistant.ask(rows[0]["question"])  # warm-up, not counted
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors: list[str] = []
    attempted = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(sessions)

    def session(k: int) -> None:
        barrier.wait()
        for row in draw(rows, questions, seed + k):
            if time.monotonic() > deadline:
                return
            t0 = time.perf_counter()
            try:
                answer = assistant.ask(row["question"], row.get("history") or None)
                ok = bool(answer and answer.answer.strip())
                problem = None if ok else f"{row['id']}: empty answer"
            except Exception as exc:  # noqa: BLE001 — every failure is counted, none stops the run
                problem = f"{row['id']}: {type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                attempted[0] += 1
                if problem:
                    errors.append(problem)
                else:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=session, args=(k,), name=f"session-{k}") for k in range(sessions)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return summary(
        f"API in-process: {sessions} sessions × {questions} questions", latencies, errors, attempted[0], wall,
        load_s=round(load_s, 1), embedding_model=assistant.index.embedding_model,
        peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
        vm_hwm_mib=round((proc_status_kib("self", "VmHWM") or 0) / 1024, 1),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 1),
    )


# -- (b) the Streamlit app with real browsers -----------------------------------------
class App:
    """`streamlit run app.py` on a free loopback port, stopped (terminate, wait, kill) on exit."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "App":
        env = dict(os.environ, HF_HUB_OFFLINE="1", STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        self.proc = start_streamlit(self.port, env, self.log_path, cwd=REPO)
        try:
            wait_until_up(self.proc, lambda: streamlit_healthy(self.url), START_TIMEOUT_S, 0.5)
        except NotUp as exc:
            self.__exit__()
            raise RuntimeError(f"streamlit did not start ({exc}); see {self.log_path}") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.proc:
            stop(self.proc, grace=20, kill_wait=10)


def _turns(row: dict) -> list[str]:
    """What a person types for this row: a follow-up's earlier questions, then the question."""
    return [t["content"] for t in row.get("history") or [] if t.get("role") == "user"] + [row["question"]]


async def _page_session(browser, url: str, rows: list[dict], deadline: float, out: dict, k: int) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    try:
        page = await context.new_page()
        page.set_default_timeout(ANSWER_TIMEOUT_S * 1000)
        t0 = time.perf_counter()
        await page.goto(url)
        await page.locator(CHAT_BOX).wait_for(state="visible")
        out["page_load_ms"].append((time.perf_counter() - t0) * 1000)
        for row in rows:
            for text in _turns(row):
                if time.monotonic() > deadline:
                    return
                out["attempted"] += 1
                before = await page.locator(MESSAGE).count()
                t0 = time.perf_counter()
                try:
                    box = page.locator(CHAT_BOX)
                    await box.fill(text)
                    await box.press("Enter")
                    # Done = the answer drawn in its final form, after the app's rerun: its caption
                    # "Trả lời sau 1,2 giây · trích nguyên văn" is shown only then. (The assistant bubble itself appears
                    # at once, empty; typing the next question before the run ends would interrupt it.)
                    await page.locator(MESSAGE).nth(before + 1).get_by_text(DONE).wait_for(state="visible")
                    elapsed = (time.perf_counter() - t0) * 1000
                    await page.wait_for_timeout(SETTLE_MS)
                    await page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
                    if await page.locator('[data-testid="stException"]').count():
                        raise RuntimeError("exception shown on the page")
                    out["latencies"].append(elapsed)
                except Exception as exc:  # noqa: BLE001
                    out["errors"].append(f"page {k}, {row['id']}: {type(exc).__name__}: {str(exc)[:120]}")
                    await page.goto(url)  # a fresh session, so one failure does not poison the rest
                    await page.locator(CHAT_BOX).wait_for(state="visible")
    finally:
        await context.close()


async def _drive(url: str, pages: int, per_page: int, seconds: float, seed: int) -> dict:
    from playwright.async_api import async_playwright

    rows = load_questions()
    out = {"latencies": [], "errors": [], "attempted": 0, "page_load_ms": []}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            # One page first: the first session pays for loading the model and the index.
            warm = await browser.new_context()
            page = await warm.new_page()
            t0 = time.perf_counter()
            await page.goto(url)
            await page.locator(CHAT_BOX).wait_for(state="visible", timeout=START_TIMEOUT_S * 1000)
            out["first_load_s"] = round(time.perf_counter() - t0, 1)
            await warm.close()
            deadline = time.monotonic() + seconds
            t0 = time.perf_counter()
            await asyncio.gather(*(
                _page_session(browser, url, draw(rows, per_page, seed + k), deadline, out, k) for k in range(pages)
            ))
            out["wall_s"] = time.perf_counter() - t0
        finally:
            await browser.close()
    return out


def run_app(app_url: str | None, pages: int, per_page: int, seconds: float, seed: int, log_dir: Path) -> dict:
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} missing: bash scripts/install_browser.sh")
    me = os.getpid()
    if app_url:
        server_pid = None
        result = _run_drive(app_url, pages, per_page, seconds, seed, me, None)
    else:
        with App(log_dir / "streamlit-load.log") as app:
            server_pid = app.proc.pid
            result = _run_drive(app.url, pages, per_page, seconds, seed, me, server_pid)
    result["server_started_here"] = server_pid is not None
    return result


def _run_drive(url, pages, per_page, seconds, seed, me, server_pid) -> dict:
    server_tree = (lambda: [server_pid, *descendants(server_pid)]) if server_pid else (lambda: [])
    browsers = lambda: [p for p in descendants(me) if p != server_pid and p not in server_tree()]  # noqa: E731
    with RssSampler(server_tree) as server_rss, RssSampler(browsers) as browser_rss:
        out = asyncio.run(_drive(url, pages, per_page, seconds, seed))
    server_hwm = proc_status_kib(server_pid, "VmHWM") if server_pid else None
    return summary(
        f"App: {pages} Chromium pages × {per_page} rows", out["latencies"], out["errors"], out["attempted"],
        out.get("wall_s", 0.0), url=url, first_load_s=out.get("first_load_s"),
        page_load_p50_ms=_round(percentile(out["page_load_ms"], 50)),
        server_peak_rss_mib=round(server_hwm / 1024, 1) if server_hwm else (round(server_rss.peak_mib, 1) or None),
        browsers_peak_rss_mib=round(browser_rss.peak_mib, 1),
    )


# -- the table -------------------------------------------------------------------------
COLUMNS = [("asked", "asked"), ("answered", "answered"), ("errors", "errors"), ("p50_ms", "p50 ms"),
           ("p95_ms", "p95 ms"), ("max_ms", "max ms"), ("answers_per_s", "answers/s"), ("wall_s", "wall s")]


def table(results: list[dict]) -> str:
    head = "| phase | " + " | ".join(label for _, label in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for r in results:
        lines.append(f"| {r['phase']} | " + " | ".join("–" if r.get(k) is None else str(r[k]) for k, _ in COLUMNS)
                     + " |")
    lines.append("")
    for r in results:
        extra = {k: v for k, v in r.items() if k not in dict(COLUMNS) and k not in ("phase", "error_samples")}
        lines.append(f"{r['phase']}: " + ", ".join(f"{k}={v}" for k, v in extra.items()))
        for sample in r["error_samples"]:
            lines.append(f"  error: {sample}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.load", description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent API sessions (threads)")
    parser.add_argument("--questions", type=int, default=50, help="questions per API session")
    parser.add_argument("--app-url", default=None, help="a running app; default: start one on loopback")
    parser.add_argument("--pages", type=int, default=4, help="concurrent Chromium pages against the app")
    parser.add_argument("--page-questions", type=int, default=10, help="eval rows per page")
    parser.add_argument("--seconds", type=float, default=300, help="time budget of each phase")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-app", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.app_url and not args.app_url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        parser.error("--app-url must be a loopback address")
    if min(args.sessions, args.questions, args.pages, args.page_questions) < 1 or args.seconds <= 0:
        parser.error("counts and --seconds must be positive")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = []
    if not args.skip_api:
        results.append(run_api(args.sessions, args.questions, args.seconds, args.seed))
        print(table(results[-1:]), flush=True)
    if not args.skip_app:
        log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
        results.append(run_app(args.app_url, args.pages, args.page_questions, args.seconds, args.seed, log_dir))
    print("\n" + table(results))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
