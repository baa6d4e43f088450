"""./dev/up takes its ports from the environment: two stacks (or a port already taken) need
no edit of the script."""

import re
from pathlib import Path

DEV_UP = Path(__file__).resolve().parents[2] / "dev" / "up"


def test_every_port_is_a_variable_with_a_default():
    code = [line for line in DEV_UP.read_text().splitlines() if not line.lstrip().startswith("#")]
    defaults = {
        name: port
        for line in code
        for name, port in re.findall(r'^(\w+_PORT)="\$\{\1:-(\d+)\}"$', line)
    }
    assert defaults == {
        "SITE_PORT": "8000",
        "PROVIDER_PORT": "8001",
        "SAMPLE_API_PORT": "8002",
        "SAMPLE_API_LIVE_PORT": "8003",
    }
    literal = [line for line in code if re.search(r"\b800[0-3]\b", line) and "_PORT:-" not in line]
    assert literal == []
    for name in defaults:
        assert sum(f"${name}" in line for line in code) >= 2, name
