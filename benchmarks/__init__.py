"""Benchmarks of the campaign backend: each measures its own baseline in the same run and asserts nothing.

Run `python -m benchmarks` (all) or `python -m benchmarks <name> [--quick]`; see benchmarks/README.md.
"""

from __future__ import annotations
