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


def test_once_started_the_collector_skips_start_up_and_runs_less_often() -> None:
    code = (
        "import gc\n"
        "from stargate.api.server import GC_THRESHOLDS, collect_for_serving\n"
        "gc.disable()\n"
        "collect_for_serving()\n"
        "assert gc.isenabled()\n"
        "assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 1000, gc.get_freeze_count()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
