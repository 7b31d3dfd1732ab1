"""ci/github-actions.yml, the workflow devnet's users copy: valid against GitHub's workflow
schema (schemastore's, vendored in check-jsonschema, offline), and running what it says."""

import subprocess
import sys
from pathlib import Path

WORKFLOW = Path(__file__).resolve().parents[2] / "ci/github-actions.yml"


def test_the_workflow_is_valid_for_github_actions():
    out = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                          "vendor.github-workflows", str(WORKFLOW)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_an_invalid_workflow_is_caught(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:", 1))
    out = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                          "vendor.github-workflows", str(broken)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "runs_on" in out.stdout + out.stderr


def test_it_runs_the_e2e_suite_on_every_push_and_validates_the_vagrantfile():
    text = WORKFLOW.read_text()
    assert "\non:\n  push:" in text
    assert "./devnet.sh test.e2e" in text
    assert "vagrant validate" in text
