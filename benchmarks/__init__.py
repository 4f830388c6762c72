"""The benchmarks: one module per benchmark, run by `make bench` (`python -m benchmarks`).

A development tool beside the product, like the devnet: nothing under `apps/` or
`oracle_platform/` imports it (import-linter checks), and it is not in the wheel.
"""
