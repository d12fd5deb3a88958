"""``photodup bench``: PyTorch vs Triton through the product's client, beside the raw engines.

Entry point :func:`photodup.bench.run.run_bench`; output :func:`photodup.bench.report.write_report`.
"""
