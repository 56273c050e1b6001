"""Lynkr's published benchmark scenarios (seeds/002), rebuilt as data.

Rebuilt from its ``benchmark-tier-routing.js``: the same 14 tool definitions, prompts and generated
tool results, with two fixes. ``Math.random()`` is replaced by a fixed formula so every run measures
the same bytes, and L1/L2 are made valid Anthropic requests (Lynkr's sent an OpenAI-style
``tool_calls`` assistant turn with ``content: null`` and two consecutive user turns, which the
Messages API rejects): the call is a ``tool_use`` block and the question follows the ``tool_result``
in the same user turn.
"""

from __future__ import annotations

from typing import Any

MODEL = "claude-sonnet-4-5"


def _tool(name: str, description: str, properties: dict[str, str], required: list[str]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for key, kind in properties.items():
        props[key] = {"type": "array", "items": {"type": "object"}} if kind == "array" else {"type": kind}
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return {"name": name, "description": description, "input_schema": schema}


TOOL_DEFINITIONS: list[dict[str, Any]] = [
    _tool("Read", "Read a file from disk", {"file_path": "string", "limit": "number"}, ["file_path"]),
    _tool("Write", "Write content to a file", {"file_path": "string", "content": "string"}, ["file_path", "content"]),
    _tool("Edit", "Make targeted edits to a file",
          {"file_path": "string", "old_string": "string", "new_string": "string"},
          ["file_path", "old_string", "new_string"]),
    _tool("Bash", "Execute a shell command", {"command": "string", "timeout": "number"}, ["command"]),
    _tool("Glob", "Find files matching a pattern", {"pattern": "string", "path": "string"}, ["pattern"]),
    _tool("Grep", "Search for patterns in files", {"pattern": "string", "path": "string", "glob": "string"},
          ["pattern"]),
    _tool("WebSearch", "Search the web", {"query": "string"}, ["query"]),
    _tool("WebFetch", "Fetch a URL", {"url": "string", "prompt": "string"}, ["url"]),
    _tool("TodoWrite", "Write a todo list", {"todos": "array"}, ["todos"]),
    _tool("TodoRead", "Read the current todo list", {}, []),
    _tool("Task", "Spawn a subagent", {"description": "string", "prompt": "string"}, ["description", "prompt"]),
    _tool("NotebookRead", "Read a Jupyter notebook", {"notebook_path": "string"}, ["notebook_path"]),
    _tool("NotebookEdit", "Edit a Jupyter notebook",
          {"notebook_path": "string", "cell_index": "number", "new_source": "string"},
          ["notebook_path", "cell_index", "new_source"]),
    _tool("mcp__github__create_pull_request", "Create a GitHub pull request via MCP",
          {"title": "string", "body": "string", "base": "string", "head": "string"}, ["title", "body"]),
]
# Lynkr's TodoRead schema is {"type":"object","properties":{}} with no "required": kept as is.

PACKAGES = [
    "express", "lodash", "axios", "react", "typescript", "webpack", "babel", "eslint",
    "jest", "mocha", "chai", "sinon", "supertest", "dotenv", "cors", "helmet", "morgan",
    "winston", "pino", "joi", "yup", "zod", "mongoose", "sequelize", "prisma", "knex",
    "redis", "ioredis", "bull", "agenda", "node-cron", "socket.io", "ws", "graphql",
    "apollo-server", "type-graphql", "class-transformer", "class-validator", "reflect-metadata",
]


def package_json() -> dict[str, Any]:
    """Lynkr's ``generateFakeLargeJsonResult`` (a package.json) with fixed patch versions."""
    deps: dict[str, str] = {}
    dev: dict[str, str] = {}
    for i, name in enumerate(PACKAGES):
        version = f"^{i // 10 + 1}.{i % 10}.{(i * 7) % 20}"
        (dev if i % 3 == 0 else deps)[name] = version
    return {
        "name": "my-app", "version": "1.0.0",
        "scripts": {"start": "node index.js", "test": "jest", "build": "webpack", "lint": "eslint src/"},
        "dependencies": deps,
        "devDependencies": dev,
        "engines": {"node": ">=18.0.0"},
        "keywords": ["api", "backend", "nodejs"],
        "files": [f"src/module{i}.js" for i in range(30)],
        "exports": {f"./{p}": f"./dist/{p}/index.js" for p in PACKAGES},
    }


def grep_result() -> list[dict[str, Any]]:
    """Lynkr's ``generateFakeGrepResult`` (60 TODO matches) with fixed line numbers."""
    folders = ["routes", "controllers", "models", "middleware", "utils"]
    todos = ["fix error handling", "add validation", "refactor this", "add tests", "update docs",
             "remove hardcoded value", "add rate limiting", "handle edge case"]
    people = ["alice", "bob", "carol", "dave"]
    return [
        {
            "file": f"src/{folders[i % 5]}/module{i % 15}.js",
            "line": (i * 37) % 500 + 1,
            "match": f"TODO: {todos[i % 8]} — assigned to {people[i % 4]}",
            "context": f"  // TODO: {todos[i % 4]}\n  function handler{i}(req, res) {{ return res.json({{ status: 'ok' }}); }}",
        }
        for i in range(60)
    ]


def _tool_turn(question: str, tool: dict[str, Any], call_id: str, tool_input: dict[str, Any], result: str,
               follow_up: str) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "content": [{"type": "tool_use", "id": call_id, "name": tool["name"], "input": tool_input}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call_id, "content": result},
            {"type": "text", "text": follow_up},
        ]},
    ]


def scenarios() -> dict[str, dict[str, Any]]:
    """Scenario id → Anthropic Messages request body."""
    import json

    compact = lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # noqa: E731  (JSON.stringify)
    read, bash = TOOL_DEFINITIONS[0], TOOL_DEFINITIONS[3]
    history = [
        ("user", "Can you help me refactor my Express app?"),
        ("assistant", "Sure! Let's start by reviewing your current structure. What does your folder layout look like?"),
        ("user", "I have routes/, controllers/, models/, middleware/ folders."),
        ("assistant", "Good structure. Are you using any ORM, and do you have error handling middleware in place?"),
        ("user", "I use Sequelize. Error handling is scattered across controllers right now."),
        ("assistant", "Let's centralise error handling first. Create middleware/errorHandler.js and export an express "
                      "error middleware with four params (err, req, res, next)."),
        ("user", "Done. Now I need to add input validation — should I use Joi or express-validator?"),
        ("assistant", "For Sequelize projects, Joi pairs well. Install it and create a validate() middleware wrapper."),
        ("user", "Great, now how do I add rate limiting to specific routes only?"),
    ]
    return {
        "S1": {"model": MODEL, "max_tokens": 256, "messages": [{"role": "user", "content": "What does git stash do?"}]},
        "T1": {"model": MODEL, "max_tokens": 512, "tools": TOOL_DEFINITIONS,
               "messages": [{"role": "user", "content": "What does the README say about installation?"}]},
        "T2": {"model": MODEL, "max_tokens": 512, "tools": TOOL_DEFINITIONS,
               "messages": [{"role": "user", "content": "Edit the config file to set DEBUG=true"}]},
        "H1": {"model": MODEL, "max_tokens": 512, "messages": [{"role": r, "content": c} for r, c in history]},
        "L1": {"model": MODEL, "max_tokens": 512, "tools": [read],
               "messages": _tool_turn("Read package.json and tell me the dependencies.", read, "tr_001",
                                      {"file_path": "package.json"}, compact(package_json()),
                                      "What are the top-level dependencies?")},
        "L2": {"model": MODEL, "max_tokens": 512, "tools": [bash],
               "messages": _tool_turn("Find all TODO comments in the codebase.", bash, "tr_002",
                                      {"command": 'grep -rn "TODO" src/'}, compact(grep_result()),
                                      "Summarise the most important TODOs.")},
        "SC1": {"model": MODEL, "max_tokens": 256, "messages": [
            {"role": "user", "content": "Explain the difference between TCP and UDP in two sentences."}]},
        "SC2": {"model": MODEL, "max_tokens": 256, "messages": [
            {"role": "user", "content": "What is the difference between TCP and UDP? Keep it brief."}]},
        "R1": {"model": MODEL, "max_tokens": 1024, "messages": [
            {"role": "user", "content": "Analyse the security trade-offs of storing JWT tokens in localStorage vs "
                                        "httpOnly cookies for a banking application. Step by step."}]},
    }


def write_all(directory: "Path | None" = None) -> None:  # noqa: F821
    """Write each scenario as ``bench/scenarios/ID.json`` (for ``lynkr optimize`` and the bench)."""
    import json
    from pathlib import Path

    directory = directory or Path(__file__).parent
    for name, body in scenarios().items():
        (directory / f"{name}.json").write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    write_all()
