"""Re-create the public session set of ``manifest.json`` outside the repository, with secrets redacted.

The transcripts come from public repositories and are not committed here (only their manifest is):
fetch each listed repository (a git clone or mirror), then

    python bench/sessions/materialize.py --mirrors DIR --out /work/data/sessions

reads ``<commit>:<path>`` from ``DIR/<owner>+<name>/repo`` (or ``DIR/<owner>+<name>``), checks its
sha256 against the manifest, replaces every credential shape (``lynkr_cli.replay.secrets.scrub``) and
writes ``OUT/<name>.jsonl``. ``--add owner/name:commit:path:agent`` appends an entry to the manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
sys.path.insert(0, str(HERE.parent.parent))


def repo_dir(mirrors: Path, repo: str) -> Path:
    base = mirrors / repo.replace("/", "+")
    return base / "repo" if (base / "repo").exists() else base


def blob(mirrors: Path, entry: dict) -> bytes:
    return subprocess.run(["git", "-C", str(repo_dir(mirrors, entry["repository"])), "show",
                           f"{entry['commit']}:{entry['path']}"], check=True, capture_output=True).stdout


def redacted(data: bytes) -> bytes:
    """Each line scrubbed; a line that would no longer parse keeps its redaction as a JSON string."""
    from lynkr_cli.replay.secrets import scrub

    out = []
    for line in data.decode("utf-8", "replace").splitlines():
        clean = scrub(line)
        if clean != line:
            try:
                json.loads(clean)
            except ValueError:
                clean = json.dumps({"type": "redacted-line"})
        out.append(clean)
    return ("\n".join(out) + "\n").encode()


def add(spec: str, mirrors: Path) -> None:
    repo, commit, path, agent = spec.split(":", 3)
    entries = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else []
    folder = Path(path).parent.name  # several sessions of one repository: named by their folders
    name = f"{repo.replace('/', '__')}__{agent}" + (f"__{folder}" if folder else "")
    entry = {"name": name, "repository": repo, "commit": commit, "path": path,
             "agent": agent}
    data = blob(mirrors, entry)
    entry.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    entries = [e for e in entries if e["name"] != entry["name"]] + [entry]
    MANIFEST.write_text(json.dumps(entries, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, required=True, help="where the fetched repositories are")
    parser.add_argument("--out", type=Path, help="where to write the redacted transcripts")
    parser.add_argument("--add", action="append", default=[], metavar="REPO:COMMIT:PATH:AGENT")
    args = parser.parse_args()
    for spec in args.add:
        add(spec, args.mirrors)
    if args.out is None:
        return
    args.out.mkdir(parents=True, exist_ok=True)
    for entry in json.loads(MANIFEST.read_text()):
        data = blob(args.mirrors, entry)
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"]:
            print(f"{entry['name']}: sha256 {digest} differs from the manifest; skipped", file=sys.stderr)
            continue
        (args.out / f"{entry['name']}.jsonl").write_bytes(redacted(data))
        print(f"{entry['name']}: {entry['size']:,} bytes")


if __name__ == "__main__":
    main()
