"""Run notebooks as jobs: papermill execution into a run folder, plus an offline HTML report."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cift.errors import JobError

__all__ = ["KERNEL_NAME", "NotebookRun", "jupyter_data_dir", "run_notebook"]

_REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>")

#: The kernel every cift notebook names.
KERNEL_NAME = "cift"


@dataclass(frozen=True)
class NotebookRun:
    """Where a run's executed notebook and HTML report are."""

    notebook: Path
    html: Path
    seconds: float


def jupyter_data_dir() -> Path:
    """A directory D holding ``D/kernels/cift/kernel.json`` (installed wheel or checkout)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_jupyter", package.parent):
        if (candidate / "kernels" / KERNEL_NAME / "kernel.json").is_file():
            return candidate
    raise JobError("the cift kernel spec is missing from this installation")


def _with_cift_kernel_path() -> None:
    """Let Jupyter find the cift kernel spec without installing it (for this process)."""
    here = str(jupyter_data_dir())
    paths = os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
    if here not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([here, *filter(None, paths)])


def run_notebook(
    notebook: str | Path,
    out_dir: str | Path,
    parameters: dict[str, Any] | None = None,
    *,
    timeout: float | None = 600,
    progress: bool = False,
) -> NotebookRun:
    """Execute a notebook with papermill into ``out_dir`` and render an offline HTML report.

    Parameters
    ----------
    notebook : path
        The notebook; it names its kernel (cift notebooks name "cift").
    out_dir : path
        Receives ``<name>.ipynb`` (executed, failing cell marked) and ``<name>.html``.
    parameters : dict, optional
        Injected after the cell tagged ``parameters``.
    timeout : float, optional
        Seconds allowed per cell.

    Raises
    ------
    JobError
        When a cell fails (the output notebook is still written and names the cell).
    """
    import papermill as pm

    notebook, out_dir = Path(notebook), Path(out_dir)
    if not notebook.is_file():
        raise JobError(f"no notebook at {notebook}")
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / notebook.name
    _with_cift_kernel_path()
    started = dt.datetime.now()
    try:
        pm.execute_notebook(str(notebook), str(output), parameters=parameters or {},
                            execution_timeout=timeout, progress_bar=progress,
                            cwd=str(notebook.parent),
                            # the kernel is local and short-lived: its start-up warning about
                            # unencrypted loopback TCP is noise on the user's terminal
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except pm.PapermillExecutionError as exc:
        raise JobError(f"{notebook.name} failed in cell {exc.exec_count}: {exc.ename}: "
                       f"{exc.evalue} (see {output})") from None
    html = output.with_suffix(".html")
    html.write_text(_to_html(output), encoding="utf-8")
    return NotebookRun(output, html, (dt.datetime.now() - started).total_seconds())


def _to_html(notebook: Path) -> str:
    """HTML of an executed notebook that renders offline.

    Plotly figures carry plotly.js inline (the notebooks use the ``notebook`` renderer);
    the template's CDN scripts (MathJax, require.js) are dropped, as a report must not
    depend on a network that research machines often do not have.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    return _REMOTE_SCRIPT.sub("", body)
