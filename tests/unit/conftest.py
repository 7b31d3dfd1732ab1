import json
from pathlib import Path

import pytest

from devnet import config

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture_json(name: str):
    return json.loads(fixture_text(name))


@pytest.fixture
def settings(tmp_path):
    return config.load({"instance": "dntest", "state_dir": str(tmp_path / "state")})
