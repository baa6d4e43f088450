"""Every ```python block in README.md and docs/ is complete and runs, so the docs cannot drift
from the code: each is executed in the configured test project (settings blocks on a copy of
its settings, as a settings.py would run them), checked for names it uses without defining or
importing, and each view it defines must return its answer.

A block that cannot run here is marked on the line before it with
``<!-- docs-test: compile only, <why> -->``: it is then compiled and name-checked only.
"""

import ast
import copy
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- docs-test: compile only"
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def snippets():
    for path in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]):
        text = path.read_text()
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            yield pytest.param(
                match.group(1),
                before.startswith(MARKER),
                id=f"{path.relative_to(ROOT)}:{line}",
            )


SNIPPETS = list(snippets())


def project_settings():
    """The settings the project's settings module sets (Django's own defaults left out: reading
    a deprecated default, such as EMAIL_HOST_USER on Django 6.1, warns)."""
    module = importlib.import_module(settings.SETTINGS_MODULE)
    return {name: value for name, value in vars(module).items() if name.isupper()}


def settings_names():
    return set(project_settings())


def test_the_docs_have_snippets():
    assert len(SNIPPETS) >= 10
    # Marked blocks stay the exception.
    assert sum(p.values[1] for p in SNIPPETS) <= 2


@pytest.mark.parametrize(("code", "compile_only"), SNIPPETS)
def test_a_snippet_runs(code, compile_only, monkeypatch):
    tree = ast.parse(code)
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [a.arg for a in function.args.args]
            if "request" in names:
                # A view ends by answering: no "...", and no path that falls off the end.
                last = function.body[-1]
                answers = isinstance(last, ast.Raise) or (
                    isinstance(last, ast.Return) and last.value is not None
                )
                assert answers, f"the view {function.name} does not end with its answer"
    if compile_only:
        compile(tree, "<docs>", "exec")
        return
    # The environment a settings block reads, with stand-in values.
    for name in re.findall(r'os\.environ\["([A-Z_]+)"\]', code):
        monkeypatch.setenv(name, "http://127.0.0.1:9/stand-in")
    namespace = {name: copy.deepcopy(value) for name, value in project_settings().items()} | {
        "__name__": "docs_snippet"
    }
    exec(compile(tree, "<docs>", "exec"), namespace)  # noqa: S102 - our own documentation


def test_no_snippet_uses_a_name_it_does_not_define_or_import(tmp_path):
    for number, param in enumerate(SNIPPETS):
        (tmp_path / f"snippet_{number}.py").write_text(param.values[0])
    # A settings block extends the settings startproject wrote: those names count as defined.
    builtins = json.dumps(sorted(settings_names()))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "F821,F822,F823",
            "--config",
            f"builtins = {builtins}",
            "--output-format",
            "concise",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    found = [
        re.sub(r"snippet_(\d+)\.py", lambda m: SNIPPETS[int(m[1])].id, line)
        for line in result.stdout.splitlines()
        if "snippet_" in line
    ]
    assert found == [], "\n".join(found)
    assert result.returncode == 0, result.stdout + result.stderr
