"""Issue 7 benchmarks: run with ``.venv/bin/python bench/run.py`` (see ``bench/README.md``).

Not part of the test suite: nothing here is collected by pytest, and no figure fails a build.
"""
