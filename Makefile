# Every developer command, as in the README.
.PHONY: demo test usecases lint typecheck bench run
demo:        ## install and run the demo on the embedded defaults
	scripts/demo
test:        ## install what the tests need and run everything (ruff, mypy, pytest)
	scripts/test
usecases:    ## every use case on the in-memory fakes of tests/fakes (no server; a few seconds)
	.venv/bin/python -m pytest -q -p no:cacheprovider tests/unit/test_*_service.py
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
typecheck:
	.venv/bin/mypy
run:         ## the worker, on config/intake-bot.toml
	.venv/bin/intake-bot run
bench:       ## the benchmarks (a private Dovecot; takes a few minutes)
	.venv/bin/python bench/ingest.py
	.venv/bin/python bench/startup.py
