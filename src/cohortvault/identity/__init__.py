"""Accounts, second factors, sessions and API tokens."""
