"""The loans app in the admin, one module per subject; importing them registers them."""

from . import agreement_templates, envelopes, ledger, loans, requests  # noqa: F401
