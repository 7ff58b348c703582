"""Notebook jobs: papermill runs with HTML reports, and the demo."""
