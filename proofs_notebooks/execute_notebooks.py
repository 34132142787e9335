"""Execute the notebooks of this folder and store them with their outputs.

    python proofs_notebooks/execute_notebooks.py [NN_name ...]     # default: every NN_*.py

For each jupytext script ``NN_name.py`` (the reviewed source): convert it in memory, run it top to bottom in a
fresh ``python3`` kernel with this folder as the working directory (as when opened in Jupyter), and write
``NN_name.ipynb`` with the outputs, and ``figures/NN_name.png``, the first figure the notebook shows (for the
README). The notebooks themselves write no file. ``tests/test_notebooks.py`` runs the same :func:`execute`.
"""
from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent
#: Seconds one cell may run before the execution fails.
CELL_TIMEOUT_S = 180


def scripts() -> list[Path]:
    """The notebook sources ``NN_name.py`` of this folder, in order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))


def execute(script: Path, *, timeout: int = CELL_TIMEOUT_S, extra_cells: tuple[str, ...] = (), env=None):
    """The notebook of ``script`` executed in a fresh kernel (nbformat NotebookNode with outputs). Raises
    nbclient's CellExecutionError (with the cell's traceback) if a cell fails or runs longer than ``timeout`` s.
    ``extra_cells``: code appended at the end (e.g. a check run in the same kernel); ``env``: the kernel's
    environment variables (default: this process's)."""
    import jupytext
    import nbclient
    import nbformat

    nb = jupytext.read(script)
    for source in extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    client = _client_class(nbclient)(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute(**({} if env is None else {"env": env}))     # keyword arguments go to the kernel's start
    return nb


#: Seconds between two polls of the kernel's shell channel (see :func:`_client_class`).
SHELL_POLL_S = 0.2


def _client_class(nbclient):
    """nbclient's NotebookClient, whose wait for a cell's execute reply polls the shell channel every
    ``SHELL_POLL_S`` seconds instead of once with the whole cell timeout. After the ipywidgets ``interact`` cell
    of 00_demo, a single poll sometimes missed the reply that had already arrived and returned it only when the
    cell timeout ran out (180 s instead of under 1 s for that cell, measured here; jupyter/nbclient#312 reports
    the same with widgets). Polling again picks the reply up; a missing reply still ends in the cell timeout."""
    from queue import Empty

    class Client(nbclient.NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            channel = kc.shell_channel
            get_msg = channel.get_msg

            async def get_msg_polling(timeout=None):
                deadline = None if timeout is None else time.monotonic() + timeout
                while True:
                    left = SHELL_POLL_S if deadline is None else max(0.0, deadline - time.monotonic())
                    try:
                        return await get_msg(timeout=min(SHELL_POLL_S, left))
                    except Empty:
                        if deadline is not None and time.monotonic() >= deadline:
                            raise

            channel.get_msg = get_msg_polling
            return kc

    return Client


def images(nb) -> list[tuple[int, str, bytes]]:
    """Every image a notebook's outputs hold: ``(cell index, mime type, bytes)``, in order."""
    out = []
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            for mime, data in output.get("data", {}).items():
                if mime.startswith("image/"):
                    out.append((i, mime, base64.b64decode(data)))
    return out


def main(names: list[str]) -> int:
    import nbformat

    chosen = [s for s in scripts() if not names or s.stem in names]
    unknown = set(names) - {s.stem for s in scripts()}
    if unknown:
        print(f"unknown notebooks: {', '.join(sorted(unknown))}; choose from "
              f"{', '.join(s.stem for s in scripts())}", file=sys.stderr)
        return 2
    for script in chosen:
        t0 = time.perf_counter()
        nb = execute(script)
        nbformat.write(nb, script.with_suffix(".ipynb"))
        pngs = [data for _, mime, data in images(nb) if mime == "image/png"]
        if pngs:
            (NOTEBOOK_DIR / "figures").mkdir(exist_ok=True)
            (NOTEBOOK_DIR / "figures" / f"{script.stem}.png").write_bytes(pngs[0])
        print(f"{script.stem}: {time.perf_counter() - t0:.1f} s, {len(images(nb))} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
