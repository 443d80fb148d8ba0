"""What serving the public API imports (the admin app is built after it serves)."""

from __future__ import annotations

import subprocess
import sys


def test_serving_the_public_api_does_not_import_the_admin_app() -> None:
    code = (
        "import sys, stargate.cli.main, stargate.api.server\n"
        "heavy = sorted(m for m in ('fastapi', 'stargate.api.admin', 'stargate.ui.app',"
        " 'stargate.admin.requests') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
