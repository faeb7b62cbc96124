# Every developer command, as in the README.
.PHONY: demo test lint typecheck bench run
demo:        ## install and run the demo on the embedded defaults
	scripts/demo
test:        ## install what the tests need and run everything (ruff, mypy, pytest)
	scripts/test
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
typecheck:
	.venv/bin/mypy
run:         ## the worker, on config/intake-bot.toml
	.venv/bin/intake-bot run
bench:       ## the benchmarks (a private Dovecot; takes a few minutes)
	.venv/bin/python bench/ingest.py
