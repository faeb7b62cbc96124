"""The staff web console: server-rendered pages on the application API (`intake-bot web`).

An entry point like the CLI: it calls `Application` use cases and nothing else, and applies the
access rules of `domain.staff` (each account sees its own offices' work; anything else is 404).
"""
