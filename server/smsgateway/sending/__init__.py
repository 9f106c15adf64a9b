"""Sending: idempotent execution of validated sends against the provider."""
