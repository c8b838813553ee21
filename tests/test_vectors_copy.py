"""The repo's copy of the published vectors must equal ../shared/vectors when shared/ is there."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "vectors" / "crypto_vectors.json"


@pytest.mark.skipif(not SHARED.exists(), reason="no ../shared/vectors beside this checkout")
def test_copy_matches_shared():
    ours = json.loads((ROOT / "tests/vectors/crypto_vectors.json").read_text())
    assert ours == json.loads(SHARED.read_text())
