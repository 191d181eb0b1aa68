"""Pydantic schema of the domain: hardware, engines, LLMs, scenarios, results. Units are in field names."""
