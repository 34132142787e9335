"""Execute every notebook of ``proofs_notebooks/`` top to bottom and check what a reader gets.

The reviewed source of a notebook is its jupytext percent script ``NN_name.py``; ``proofs_notebooks/
execute_notebooks.py`` converts it with jupytext and runs it with nbclient in a fresh ``python3`` kernel, with the
working directory ``proofs_notebooks/`` (as when opened in Jupyter) and matplotlib's inline backend (as in
Jupyter). A notebook fails if a cell raises (the notebooks assert what they claim, e.g. a coupling never below
its exact canonical-correlation floor) or runs longer than 180 s, if a figure it shows is missing from its
outputs, if a figure is left open without being shown, or if running it wrote anything into the repository.
The committed ``NN_name.ipynb`` must have the code of ``NN_name.py`` and be executed, with every figure shown.
"""
from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
from IPython.core.inputtransformer2 import TransformerManager  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "proofs_notebooks"
sys.path.insert(0, str(NOTEBOOK_DIR))
import execute_notebooks  # noqa: E402

SCRIPTS = execute_notebooks.scripts()
#: Kernel environment: the inline backend whatever this process uses (an Agg backend would show nothing).
INLINE = "module://matplotlib_inline.backend_inline"
#: Appended to every executed notebook: a pyplot figure still open at the end was drawn but never shown.
NO_OPEN_FIGURES = ("import matplotlib.pyplot as plt\n"
                   "assert not plt.get_fignums(), f'figures drawn but never shown: {plt.get_fignums()}'")
#: Calls that display something other than a figure.
NOT_FIGURES = {"Markdown", "HTML", "Latex", "Math"}
#: Subtrees whose calls may run conditionally, repeatedly or never (a figure must be shown unconditionally).
CONDITIONAL = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.If, ast.For, ast.While,
               ast.Try)


def test_notebooks_exist():
    """The demo and the issue's notebooks are present (00 demo, then 01, 02, 03 at least)."""
    names = {p.stem[:2] for p in SCRIPTS}
    assert {"00", "01", "02", "03"} <= names, f"missing notebooks; found {sorted(p.name for p in SCRIPTS)}"


def figure_shows(source: str) -> int:
    """How many figures a code cell shows: its ``plt.show()`` calls and its ``display(x)`` calls whose ``x`` is not
    a Markdown/HTML/Latex/Math object, outside functions, conditionals, loops and try blocks (a notebook shows its
    figures unconditionally, one call per figure). IPython syntax (``%config``) is translated first."""
    tree = ast.parse(TransformerManager().transform_cell(source))
    count = 0

    def visit(node):
        nonlocal count
        if isinstance(node, CONDITIONAL):
            return
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr == "show" and getattr(f.value, "id", None) == "plt":
                count += 1
            elif isinstance(f, ast.Name) and f.id == "display" and node.args:
                arg = node.args[0]
                shown = getattr(getattr(arg, "func", None), "id", None)
                count += shown not in NOT_FIGURES
        for child in ast.iter_child_nodes(node):
            visit(child)

    for statement in tree.body:
        visit(statement)
    return count


def test_figure_shows_counts_what_it_should():
    """The counting rule on hand-made cells (expected counts read off the cells)."""
    assert figure_shows("fig, ax = plt.subplots()\nplt.show()") == 1
    assert figure_shows("%config InlineBackend.figure_format = 'retina'\ndisplay(fig)\ndisplay(Markdown('x'))") == 1
    assert figure_shows("with open('x') as f:\n    display(Image(data=f.read()))") == 1
    assert figure_shows("def f():\n    plt.show()\nif x:\n    display(fig)\nfor i in y:\n    plt.show()") == 0


def image_outputs(cell) -> int:
    return sum(any(m.startswith("image/") for m in o.get("data", {})) for o in cell.get("outputs", []))


def check_every_figure_shown(nb, name: str) -> None:
    """In every code cell, the image outputs are exactly the figures the cell shows (figure_shows)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            shows, images = figure_shows(cell.source), image_outputs(cell)
            assert images == shows, f"{name}, code cell {i}: shows {shows} figures, outputs hold {images} images"


def _code_sources(nb) -> list[str]:
    return [c.source.strip() for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_committed_ipynb_is_the_executed_script(script: Path):
    """``NN_name.ipynb`` exists, has exactly the code cells of ``NN_name.py``, was executed (every code cell has
    an execution count, no error output) and holds every figure it shows (regenerate with
    ``python proofs_notebooks/execute_notebooks.py NN_name``)."""
    ipynb = script.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `python proofs_notebooks/execute_notebooks.py {script.stem}`"
    committed = nbformat.read(ipynb, as_version=4)
    assert _code_sources(committed) == _code_sources(jupytext.read(script)), f"{ipynb.name} is out of sync"
    code = [c for c in committed.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") is not None for c in code), f"{ipynb.name} was not executed"
    assert not [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    check_every_figure_shown(committed, ipynb.name)


def repository_files() -> dict[str, tuple[int, int]]:
    """{path: (size, mtime_ns)} of every file of the repository outside .git and Python/pytest caches."""
    skip = {".git", "__pycache__", ".pytest_cache", ".hypothesis"}
    out = {}
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in skip]
        for f in files:
            st = os.stat(os.path.join(root, f))
            out[os.path.relpath(os.path.join(root, f), REPO)] = (st.st_size, st.st_mtime_ns)
    return out


def _kernel_env(**extra) -> dict:
    return {**os.environ, "MPLBACKEND": INLINE, **extra}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_notebook_executes_shows_every_figure_and_writes_nothing(script: Path):
    """Run the notebook in a fresh kernel as a user would (no special environment): no cell fails, every figure
    it shows is in its outputs, none is left unshown, and no file of the repository was created or changed."""
    before = repository_files()
    nb = execute_notebooks.execute(script, extra_cells=(NO_OPEN_FIGURES,), env=_kernel_env())
    after = repository_files()
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not changed, f"{script.name} wrote into the repository: {changed}"
    check_every_figure_shown(nb, script.name)
    assert execute_notebooks.images(nb), f"{script.name} shows no figure"


def test_demo_notebook_runs_without_ipywidgets(tmp_path):
    """00_demo degrades gracefully where ipywidgets is missing: with a module that fails to import shadowing it,
    the notebook runs to the end and shows its static figures. (Where ipywidgets is not installed at all, the
    test above already ran this path, so this one is skipped.)"""
    pytest.importorskip("ipywidgets")
    (tmp_path / "ipywidgets.py").write_text("raise ImportError('ipywidgets hidden by the test')\n")
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    nb = execute_notebooks.execute(NOTEBOOK_DIR / "00_demo.py", env=_kernel_env(PYTHONPATH=path))
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "ipywidgets is not installed" in printed
    check_every_figure_shown(nb, "00_demo")
