"""Run the system checks when a production server (gunicorn) starts.

``runserver`` and ``migrate`` run them already; gunicorn does not, and a site that boots without
its client secret only fails later, on a user's first login. Errors stop the process with the
checks' own messages, which name the missing environment variable.
"""

from __future__ import annotations

import sys

from django.core import checks


def refuse_to_start_misconfigured() -> None:
    errors = [m for m in checks.run_checks() if m.level >= checks.ERROR and not m.is_silenced()]
    if errors:
        lines = "\n".join(f"  {m}" + (f"\n    HINT: {m.hint}" if m.hint else "") for m in errors)
        sys.stderr.write(f"Refusing to start; fix the configuration first:\n{lines}\n")
        raise SystemExit(3)
