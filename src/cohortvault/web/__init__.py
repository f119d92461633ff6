"""Shared web plumbing: request ids, security headers, session lifetime, the access gate, error
pages and the base templates. Imports no domain app."""
