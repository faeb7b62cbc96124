# intake-bot: the worker (`run`, the default) or the staff console (`web`). Settings: mount config/
# or set INTAKE_BOT_* variables; keep state in /app/var. compose.yaml runs both with PostgreSQL.
# The console's front-end packages, from the npm registry as package-lock.json pins them.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY intake_bot ./intake_bot
COPY scripts/build_assets.py ./scripts/
COPY --from=assets /build/node_modules ./node_modules
RUN python scripts/build_assets.py && rm -rf node_modules
COPY templates ./templates
COPY config ./config
RUN pip install '.[postgres]' && useradd --system --home /app intake && mkdir -p var && chown intake var
USER intake
VOLUME ["/app/var"]
# Unhealthy when the database does not answer or a mailbox has not been polled for three of its
# intervals (`intake-bot health`); the start period covers the first poll of a large backlog.
HEALTHCHECK --interval=60s --timeout=30s --start-period=300s --retries=3 CMD ["intake-bot", "health"]
ENTRYPOINT ["intake-bot"]
CMD ["run"]
