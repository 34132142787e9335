"""Progress of long work (``fit``, ``fit_sweep``) wherever it runs (issue 12 item 9).

- a terminal: a rich progress bar on stderr;
- Jupyter: the same bar in the cell's output (rich renders it through ipywidgets when they are installed);
- anything else (a log file, CI, a notebook without ipywidgets): one plain line on stderr at most every
  :data:`LINE_INTERVAL_S` seconds -- so a short run prints nothing and a 2-minute run a dozen lines, never
  minutes of silence.

Every reporter has the interface of ``rich.progress.Progress`` that the training loops use: ``start()``,
``add_task(description, total=, completed=, **fields) -> task``, ``update(task, completed=, **fields)``, ``stop()``.
"""
from __future__ import annotations

import sys
import time

#: Seconds between two plain progress lines when no live display is available.
LINE_INTERVAL_S = 10.0


class LineProgress:
    """Plain lines ``fit: step 1200/2000 (60%), loss 0.123, 12 s elapsed, ~8 s left`` on ``stream`` (stderr),
    at most one every ``interval`` seconds, plus a closing line when at least one line was printed."""

    def __init__(self, interval: float | None = None, stream=None):
        self.interval = LINE_INTERVAL_S if interval is None else float(interval)
        self.stream = stream
        self.tasks: dict[int, dict] = {}
        self.start_time = self.last_line = 0.0
        self.lines = 0

    def start(self) -> None:
        self.start_time = self.last_line = time.monotonic()

    def add_task(self, description: str, total: int, completed: int = 0, **fields) -> int:
        task = len(self.tasks)
        self.tasks[task] = {"description": description, "total": total, "completed": completed,
                            "first": completed, **fields}
        return task

    def update(self, task: int, completed: int | None = None, **fields) -> None:
        state = self.tasks[task]
        if completed is not None:
            state["completed"] = completed
        state.update(fields)
        now = time.monotonic()
        if now - self.last_line >= self.interval:
            self.last_line = now
            self._line(state, now)

    def _line(self, state: dict, now: float) -> None:
        done, total = state["completed"], state["total"]
        elapsed = now - self.start_time
        rate = (done - state["first"]) / elapsed if elapsed > 0 else 0.0
        left = f", ~{(total - done) / rate:.0f} s left" if rate > 0 and done < total else ""
        loss = f", {state['loss']}" if state.get("loss") else ""
        print(f"{state['description']}: step {done}/{total} ({100 * done / max(total, 1):.0f}%){loss}, "
              f"{elapsed:.0f} s elapsed{left}", file=self.stream or sys.stderr, flush=True)
        self.lines += 1

    def stop(self) -> None:
        if self.lines:
            now = time.monotonic()
            for state in self.tasks.values():
                self._line(state, now)


def _jupyter_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401  (rich's live display in Jupyter needs them)
        return True
    except ImportError:
        return False


def make_progress(progress: bool | None, label: str = "fit"):
    """A progress reporter, or None for ``progress=False``. ``progress=True`` forces the rich bar; ``None`` picks
    the bar on a terminal or in Jupyter (with ipywidgets) and periodic :class:`LineProgress` lines elsewhere."""
    if progress is False:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    console = Console(stderr=True)
    live = console.is_terminal or (console.is_jupyter and _jupyter_widgets())
    if progress is None and not live:
        return LineProgress()
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[loss]}"), console=console, transient=False)
