"""The machine API under /t/<slug>/api/v1/: API keys, credentials check, invoices."""
