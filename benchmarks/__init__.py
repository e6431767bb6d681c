"""Benchmarks and evaluation: how fast and how right the product is, kept out of its paths.

Project glue, beside config in the layers: it may import every app, and no product module
imports it (import-linter holds both). The management commands that run these (bench_import,
bench_relabel, bench_confirm, bench_softlabel) are thin entry points in config's glue app.
"""
