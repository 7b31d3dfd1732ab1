"""README's benchmark sections are what their result files say (bench/results/*.json): a
figure edited by hand, or a result file committed without rendering, fails here."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("renderer", ["bench/render_dns.py", "bench/render_results.py"])
def test_readme_is_rendered_from_the_result_files(renderer):
    done = subprocess.run([sys.executable, renderer, "--check"], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, (f"README is not what {renderer} renders from bench/results/: "
                                  f"run `.venv/bin/python {renderer}`\n{done.stderr}")
