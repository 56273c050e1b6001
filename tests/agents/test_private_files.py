"""The run directory for files that must not appear in argv: private, cleaned up, never reused unsafely."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lynkr_cli.agents.private import RUN_DIR, PrivateFiles
from lynkr_cli.errors import LynkrError


def test_files_are_private_and_removed_on_close(tmp_path):
    files = PrivateFiles.for_run(tmp_path)
    path = files.write("claude-settings.json", '{"env": {}}')
    assert path.parent == tmp_path / RUN_DIR and path.name.startswith("claude-settings-") and path.suffix == ".json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    files.close()
    files.close()
    assert not path.exists()


def test_a_too_open_run_directory_is_made_private(tmp_path):
    (tmp_path / RUN_DIR).mkdir(mode=0o755)
    os.chmod(tmp_path / RUN_DIR, 0o777)
    files = PrivateFiles.for_run(tmp_path)
    files.write("x", "y")
    assert stat.S_IMODE((tmp_path / RUN_DIR).stat().st_mode) == 0o700
    files.close()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to create a directory owned by another user")
def test_a_run_directory_of_another_user_is_refused(tmp_path):
    (tmp_path / RUN_DIR).mkdir(mode=0o700)
    os.chown(tmp_path / RUN_DIR, 65534, 65534)
    with pytest.raises(LynkrError, match="belongs to another user"):
        PrivateFiles.for_run(tmp_path).write("x", "secret")
    assert list((tmp_path / RUN_DIR).iterdir()) == []


def test_files_of_dead_runs_are_swept_and_live_ones_kept(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from lynkr_cli.agents.private import PrivateFiles\n"
         f"f = PrivateFiles.for_run(Path({str(tmp_path)!r}))\nprint(f.write('live', 'x'), flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    try:
        live = Path(holder.stdout.readline().strip())
        dead = tmp_path / RUN_DIR / "claude-settings-dead.json"  # no process holds its lock
        dead.write_text("token")
        partial_new = tmp_path / RUN_DIR / ".claude-settings-new.json"  # being written right now
        partial_new.write_text("t")
        partial_old = tmp_path / RUN_DIR / ".claude-settings-old.json"  # a run killed while writing it
        partial_old.write_text("t")
        old = time.time() - 3600
        os.utime(partial_old, (old, old))
        assert PrivateFiles.for_run(tmp_path).sweep() == 0  # for_run swept already
        assert live.exists() and partial_new.exists()
        assert not dead.exists() and not partial_old.exists()
    finally:
        holder.kill()
        holder.wait()
    PrivateFiles.for_run(tmp_path)
    assert not live.exists()
