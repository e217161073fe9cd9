"""`python -m cli`: the same as the `campaign` console script."""

from __future__ import annotations

from cli.main import main

main()
