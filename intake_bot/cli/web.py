"""`intake-bot web`: the staff web console, served by uvicorn."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from intake_bot.cli.common import state


def web(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default: web.host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port to listen on (default: web.port).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, help="Processes serving requests (one a CPU, say)."),
    ] = 1,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            "--proxy-headers",
            help="Behind the trust's reverse proxy: trust its X-Forwarded-Proto and -For.",
        ),
    ] = False,
) -> None:
    """Serve the staff web console (sign in with an account made by `intake-bot staff add`)."""
    import uvicorn

    from intake_bot.config import share_with_workers
    from intake_bot.web.app import cookies_secure, create_app, session_secret

    app = state(ctx).app()
    app.database.ensure_ready()
    settings = app.settings
    secret = session_secret(settings)
    served: Any
    if workers > 1:  # each process builds its own console, with the same settings and key
        share_with_workers(state(ctx).config, secret)
        served = "intake_bot.web.app:from_environment"
    else:
        served = create_app(app, secret=secret, secure_cookies=cookies_secure(settings))
    uvicorn.run(
        served,
        factory=workers > 1,
        workers=workers,
        host=host or settings.web.host,
        port=port or settings.web.port,
        proxy_headers=proxy_headers,
        forwarded_allow_ips="*" if proxy_headers else None,
        log_config=None,  # our logging (JSON off a terminal), set up by the CLI
        access_log=False,  # paths name requests; the audit trail records who did what
        server_header=False,
    )
