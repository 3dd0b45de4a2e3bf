"""Requests, loans, agreements, the fee ledger and budget envelopes: built in later issues."""
