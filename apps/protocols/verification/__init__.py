"""Verification of signed oracle data (signatures, signer sets, thresholds, freshness)."""
