"""The domain: requests, relationships, approvals, the status machine. Standard library only."""
