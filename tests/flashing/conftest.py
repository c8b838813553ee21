import pytest

from flashing import bundle as bundles
from tests.flashing.support import KEYS


@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    return bundles.build(tmp_path_factory.mktemp("bundle") / "b", KEYS.firmware)
