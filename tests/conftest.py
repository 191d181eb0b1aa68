"""Shared fixtures: the built-in catalog (loaded once) and the reference folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# the tests never reach Hugging Face: a repo outside the catalog is read from huggingface_hub's cache alone
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from solver.schema.catalog import Catalog, load_catalog

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
CALIBRATION = ROOT.parent / "shared" / "calibration"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def reference() -> Path:
    if not REFERENCE.exists():
        pytest.skip(f"reference data not found at {REFERENCE}")
    return REFERENCE
