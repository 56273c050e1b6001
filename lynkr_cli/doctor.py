"""``lynkr doctor``: every check a user would otherwise do by hand, each with the fix when it fails.

Checks are small functions returning ``Check`` rows; they never raise (a check that cannot run says
why). ``fail`` means lynkr will not work as configured; ``warn`` means something may surprise you.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Mapping

if TYPE_CHECKING:
    from lynkr_cli.config.layers import Resolved
    from lynkr_cli.settings import Settings

Status = Literal["ok", "warn", "fail", "info"]

AGENT_INSTALL = {
    "claude": "npm install -g @anthropic-ai/claude-code",
    "codex": "npm install -g @openai/codex",
}
LOCAL_PROVIDERS = frozenset({"ollama", "lmstudio", "llamacpp", "vllm"})
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@dataclass
class Check:
    group: str
    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def agent_checks(wanted: list[str]) -> list[Check]:
    """Each known agent: on PATH, and the version it reports."""
    out = []
    for name, install in AGENT_INSTALL.items():
        path = shutil.which(name)
        if path is None:
            status: Status = "fail" if name in wanted else "info"
            out.append(Check("agents", name, status, "not found on PATH", f"install it: {install}"))
            continue
        try:
            result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=15,
                                    stdin=subprocess.DEVNULL)
            version = (result.stdout or result.stderr).strip().splitlines()[0] if result.returncode == 0 else ""
        except (OSError, subprocess.TimeoutExpired, IndexError):
            version = ""
        if not version:
            out.append(Check("agents", name, "warn", f"{path} did not report a version",
                             f"run `{name} --version` to see why; reinstall with: {install}"))
        else:
            out.append(Check("agents", name, "ok", f"{version} ({path})"))
    return out


def config_check(profile: str | None, env: Mapping[str, str]) -> tuple[list[Check], Resolved | None]:
    from lynkr_cli.config.layers import resolve
    from lynkr_cli.errors import LynkrError

    try:
        resolved = resolve(profile=profile, env=env)
    except LynkrError as exc:
        return [Check("config", "valid", "fail", str(exc), "fix the value named above (lynkr config show)")], None
    files = [str(layer.path) for layer in resolved.layers if layer.path is not None]
    detail = "defaults only" if not files else ", ".join(files)
    return [Check("config", "valid", "ok", detail)], resolved


def used_providers(resolved: Resolved) -> list[str]:
    s = resolved.settings
    names = {ref.split(":", 1)[0] for ref in s.tiers.configured().values()}
    names |= {ref.split(":", 1)[0] for ref in s.routing.fallback}
    if s.model_provider:
        names.add(s.model_provider)
    return sorted(names)


def provider_checks(resolved: Resolved, env: Mapping[str, str], progress: Callable[[str], None]) -> list[Check]:
    """Per provider in use: known, key present, base URL reachable (any HTTP answer counts)."""
    from lynkr_cli.config.provider_check import provider_overrides
    from lynkr_cli.errors import LynkrError

    out: list[Check] = []
    try:
        from lynkr_cli.providers.base import HttpProvider, get_registry, resolve_provider
    except ImportError:
        return [Check("providers", "registry", "info", "this lynkr has no provider registry")]
    providers = used_providers(resolved)
    if not providers:
        return [Check("providers", "tiers", "info", "no tiers configured: requests go where the agent sends them",
                      "lynkr init to configure tiers")]
    registry = get_registry()
    overrides = provider_overrides(resolved.settings, env)
    for name in providers:
        progress(f"checking provider {name}")
        try:
            provider = resolve_provider(name, env, overrides)
        except LynkrError as exc:
            out.append(Check("providers", name, "fail", str(exc), "check the provider id in [tiers] (lynkr config show)"))
            continue
        preset = registry.get(name)  # None: a custom provider from the config
        key_vars = list(preset.key_env) if preset is not None else []
        required = preset.key_required if preset is not None else False
        if provider.config.api_key:
            out.append(Check("keys", name, "ok", "key configured"))
        elif name in ("anthropic", "openai") and required:
            out.append(Check("keys", name, "warn", f"{' or '.join(key_vars)} not set: only requests from the "
                             f"agent's own login will authenticate", f"export {key_vars[0]}=… for routed requests"))
        elif required:
            out.append(Check("keys", name, "fail", f"{' or '.join(key_vars) or 'api key'} not set",
                             f"export {key_vars[0] if key_vars else 'the key'}=… or set api_key_env under "
                             f"[providers.{name}]"))
        elif type(provider).check_credentials is not HttpProvider.check_credentials:
            # Families with their own credential chains (AWS profiles, Entra ID) check themselves.
            try:
                provider.check_credentials("anthropic", {})
                out.append(Check("keys", name, "ok", "credentials found"))
            except LynkrError as exc:
                out.append(Check("keys", name, "fail", str(exc), "set the variable named above"))
        out.append(_reachable(name, provider.base_url))
    return out


def _reachable(name: str, base_url: str) -> Check:
    import httpx

    try:
        with httpx.Client(timeout=httpx.Timeout(5.0, connect=3.0)) as client:
            response = client.get(base_url)
        return Check("providers", name, "ok", f"{base_url} answers (HTTP {response.status_code})")
    except httpx.InvalidURL as exc:  # a control character or a bad port in the configured URL
        return Check("providers", name, "fail", f"{base_url} is not a valid URL: {exc}", "fix the base URL")
    except httpx.HTTPError as exc:
        fix = (f"start the {name} server" if name in LOCAL_PROVIDERS
               else "check your network, proxy settings and the base URL")
        return Check("providers", name, "fail", f"{base_url} unreachable: {type(exc).__name__}", fix)


def ledger_check() -> Check:
    from lynkr_cli.ledger.store import connect, default_ledger_path

    path = default_ledger_path()
    try:
        conn = connect(path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except Exception as exc:  # sqlite3 and OS errors alike: the check reports, never raises
        return Check("ledger", "writable", "fail", f"{path}: {exc}",
                     "make the directory writable or set LYNKR_HOME to one that is")
    return Check("ledger", "writable", "ok", str(path))


def team_storage_check(settings: Settings) -> Check | None:
    """With ``[storage] url``: the team database answers, and at which schema (None without a URL)."""
    if settings.storage.url is None:
        return None
    from lynkr_cli.storage import Storage
    from lynkr_cli.storage.schema import COMPONENTS

    storage = Storage.from_settings(settings)
    try:
        versions = storage.schema()
    except Exception as exc:  # unreachable, refused, bad password: the check reports, never raises
        return Check("ledger", "team database", "fail", f"{storage.label}: {exc}",
                     "check [storage] url (or LYNKR_STORAGE__URL) and that PostgreSQL is up")
    finally:
        storage.close()
    behind = [c.name for c in COMPONENTS if versions.get(c.name, 0) < c.version]
    detail = f"{storage.label}, schema " + ", ".join(f"{name} {v}" for name, v in versions.items())
    if behind:
        return Check("ledger", "team database", "warn", detail + f" ({', '.join(behind)} not current)",
                     "run lynkr db migrate (lynkr serve also migrates when it starts)")
    return Check("ledger", "team database", "ok", detail)


def port_checks(resolved: Resolved | None) -> list[Check]:
    from lynkr_cli.proxy.server import bind_socket

    out = []
    try:
        bind_socket().close()
        out.append(Check("ports", "loopback", "ok", "lynkr run can bind 127.0.0.1"))
    except OSError as exc:
        out.append(Check("ports", "loopback", "fail", f"cannot bind 127.0.0.1: {exc.strerror}",
                         "check the loopback interface and firewall rules"))
    if resolved is not None:
        host, port = resolved.settings.serve.host, resolved.settings.serve.port
        try:
            bind_socket(host, port).close()
            out.append(Check("ports", "serve", "ok", f"lynkr serve can bind {host}:{port}"))
        except OSError as exc:
            out.append(Check("ports", "serve", "warn", f"{host}:{port} unavailable for lynkr serve: {exc.strerror}",
                             "lynkr serve --port N (or [serve] port)"))
    return out


def environment_checks(env: Mapping[str, str], home: Path | None = None) -> list[Check]:
    """Variables that change where traffic goes, and Claude Code's settings that try to."""
    import json

    out = []
    proxies = [name for name in PROXY_VARIABLES if env.get(name)]
    if proxies:
        out.append(Check("environment", "proxy", "info", f"{', '.join(proxies)} set: lynkr adds 127.0.0.1,localhost "
                         "to NO_PROXY for the agent, so the loopback hop never goes through it"))
    else:
        out.append(Check("environment", "proxy", "ok", "no HTTP(S)_PROXY set"))
    for name in ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        if env.get(name):
            out.append(Check("environment", name, "info",
                             f"{name}={env[name]}: lynkr run forwards there (it is lynkr's upstream)"))
    from lynkr_cli.config.env import UNMAPPED

    for name, instead in UNMAPPED.items():
        if env.get(name) and name != "HOST":
            out.append(Check("environment", name, "warn", f"Lynkr's {name} is set but has no effect in lynkr",
                             instead))
    settings_file = (home or Path.home()) / ".claude" / "settings.json"
    try:
        data = json.loads(settings_file.read_text())
        block = data.get("env") if isinstance(data, dict) else None
        if isinstance(block, dict) and block.get("ANTHROPIC_BASE_URL"):
            out.append(Check("environment", "claude settings", "info",
                             f"{settings_file} sets ANTHROPIC_BASE_URL; lynkr run overrides it with --settings"))
    except (OSError, ValueError):
        pass
    return out


# What lives under $LYNKR_HOME: (name, the directory ``x/`` or the files named ``x*``).
STORAGE_PARTS = (("ledger", "ledger.sqlite3"), ("cache", "cache.sqlite3"), ("pipeline", "pipeline/"),
                 ("elided", "elided/"), ("lynkr.log", "lynkr.log"))


def fmt_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover - unreachable


def _usage(home: Path, part: str) -> tuple[int, int]:
    """(bytes, files) of one part: a directory's regular files, or the files named ``part*`` (a SQLite
    file's -wal and -shm, the log's rotated copy). Symlinks are not followed."""
    directory = part.endswith("/")
    where, prefix = (home / part.rstrip("/"), "") if directory else (home, part)
    size = count = 0
    try:
        with os.scandir(where) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.is_file(follow_symlinks=False):
                    try:
                        size += entry.stat(follow_symlinks=False).st_size
                        count += 1
                    except OSError:
                        pass
    except OSError:
        pass
    return size, count


def storage_checks(env: Mapping[str, str], settings: Settings | None) -> list[Check]:
    """Size and file count of each part of ``$LYNKR_HOME`` and how it is bounded (never a failure)."""
    from lynkr_cli.paths import data_home

    home = data_home(dict(env))
    days = settings.retention_days if settings is not None else None
    retention = ("kept forever (retention_days = 0)" if days == 0
                 else f"deleted after {days} unused days" if days else "deleted after retention_days unused")
    cache = (f"expires after {settings.cache.ttl_seconds / 86400:g} d, max {settings.cache.max_mb:g} MB"
             if settings is not None else "expires (cache.ttl_seconds), bounded (cache.max_mb)")
    bounds = {"ledger": "grows a row per request", "cache": cache, "pipeline": retention, "elided": retention,
              "lynkr.log": "rotated at 1 MB"}
    out = [Check("storage", "home", "info", str(home))]
    for name, part in STORAGE_PARTS:
        size, count = _usage(home, part)
        files = f"{count} file{'s' if count != 1 else ''}"
        out.append(Check("storage", name, "info", f"{fmt_size(size)} in {files}; {bounds[name]}"))
    return out


def run_checks(profile: str | None, env: Mapping[str, str], progress: Callable[[str], None]) -> list[Check]:
    progress("checking agents")
    wanted: list[str] = []
    configs, resolved = config_check(profile, env)
    if resolved is not None:
        wanted = list(resolved.settings.agents)
    checks = agent_checks(wanted) + configs
    if resolved is not None:
        checks += provider_checks(resolved, env, progress)
    progress("checking ledger and ports")
    checks.append(ledger_check())
    team = team_storage_check(resolved.settings) if resolved is not None else None
    if team is not None:
        checks.append(team)
    checks += port_checks(resolved)
    checks += environment_checks(env)
    checks += storage_checks(env, resolved.settings if resolved is not None else None)
    return checks


def exit_code(checks: list[Check]) -> int:
    return 1 if any(check.status == "fail" for check in checks) else 0


def default_env() -> Mapping[str, str]:
    return os.environ
