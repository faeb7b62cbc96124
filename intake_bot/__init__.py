"""intake-bot: files DSfC legitimate-relationship requests from a shared mailbox."""

__version__ = "0.1.0"
