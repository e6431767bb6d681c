"""softlabel, relabel and load_schema: the engine and the schemas from the command line.

The benchmarks' commands (bench_softlabel, bench_relabel, ...) are thin entry points in
config/management/commands; their bodies are in benchmarks/.
"""
from __future__ import annotations
