"""Every notebook in notebooks/ executes with papermill against a small lake."""

import re
from pathlib import Path

import nbformat
import pytest

from cift.jobs.notebooks import run_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_runs(notebook, filled_lake, tmp_path, request):
    parameters = {"store_url": filled_lake.url}
    if notebook.stem == "04_databases":  # against the suite's own servers
        parameters |= {"pg_url": request.getfixturevalue("pg_url"),
                       "redis_url": request.getfixturevalue("redis_url")}
    run = run_notebook(notebook, tmp_path / "out", parameters)
    executed = nbformat.read(run.notebook, as_version=4)
    assert executed.metadata.kernelspec.name == "cift"
    errors = [o for c in executed.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    html = run.html.read_text()
    # offline: no script loaded from the web (plotly.js itself carries the text
    # src="https://unpkg.com/maki..." for map icons up to Plotly 7.0: not a script tag)
    assert "plotly" in html.lower()
    assert not re.search(r'<script[^>]*\bsrc="http', html)


def test_a_failing_notebook_names_its_cell(tmp_path):
    from cift.errors import JobError

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")]
    nb.metadata["kernelspec"] = {"name": "cift", "display_name": "Python (cift)",
                                 "language": "python"}
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(JobError, match="ZeroDivisionError"):
        run_notebook(path, tmp_path / "out")
    assert (tmp_path / "out" / "broken.ipynb").is_file()  # kept, with the failing cell marked
