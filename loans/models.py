"""Requests, loans, agreements, returns, the fee ledger and budget envelopes."""
