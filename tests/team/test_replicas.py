"""Three ``lynkr serve`` replicas on one PostgreSQL: keys, budgets, the shared cache, coherent
conversations and metrics hold across them, whichever replica a request reaches."""

from __future__ import annotations

import itertools
import json
import time

import anthropic
import httpx
import openai

from tests.team.conftest import TOKEN, db_query, known_everywhere, lynkr_keys, messages, wait_for

_n = itertools.count()


def unique(text: str) -> str:
    """A prompt no earlier test sent (the exact cache would answer a repeated one)."""
    return f"{text} #{next(_n)}-{time.time_ns()}"


def test_a_key_works_on_every_replica_and_revoked_is_refused_everywhere(replicas, team_db, tmp_path):
    a, b, c = replicas
    key = lynkr_keys(team_db, tmp_path, "create", "alice", "--json")
    assert key["name"] == "alice" and key["token"].startswith("sk-lynkr-")
    token = key["token"]
    created = time.monotonic()
    for replica in replicas:  # every replica reads the keys every 2 s
        wait_for(lambda r=replica: messages(r.base(token), unique("hello")).status_code == 200, timeout=5.0)
    assert time.monotonic() - created < 5.0
    # In the path (Anthropic SDK), as X-Lynkr-Token, and as the client's API key (OpenAI SDK).
    with anthropic.Anthropic(base_url=a.base(token), api_key="unused", max_retries=0) as sdk:
        reply = sdk.messages.create(model="claude-sonnet-4-6", max_tokens=20,
                                    messages=[{"role": "user", "content": unique("hello")}])
    assert reply.content[0].text == "pong from upstream"
    assert messages(b.url, unique("hi"), headers={"x-lynkr-token": token}).status_code == 200
    with openai.OpenAI(base_url=f"{c.url}/v1", api_key=token, max_retries=0) as chat:
        assert chat.chat.completions.create(model="claude-sonnet-4-6", messages=[
            {"role": "user", "content": unique("hey")}]).choices[0].message.content == "pong from upstream"
    rows = wait_for(lambda: db_query(team_db, "SELECT key_name FROM requests WHERE key_name = 'alice'"))
    assert len(rows) >= 3
    dump = json.dumps(db_query(team_db, "SELECT * FROM requests")) + json.dumps(db_query(team_db, "SELECT * FROM api_keys"))
    assert token not in dump and token[9:] not in dump  # the name is stored, never the key

    revoked_at = time.monotonic()
    lynkr_keys(team_db, tmp_path, "revoke", "alice")
    for replica in replicas:
        wait_for(lambda r=replica: messages(r.url, unique("again"), headers={"x-lynkr-token": token}).status_code == 401,
                 timeout=5.0)
    assert time.monotonic() - revoked_at < 5.0
    refused = messages(a.base(token), unique("again"))
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "authentication_error"


def test_a_budget_holds_across_replicas(replicas, team_db, tmp_path):
    token = lynkr_keys(team_db, tmp_path, "create", "bob", "--budget-daily", "0.15", "--json")["token"]
    known_everywhere(replicas, token)
    statuses = []
    for replica in itertools.islice(itertools.cycle(replicas), 6):  # about $0.0615 a request, one at a time
        response = messages(replica.base(token), unique("design the architecture"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses == [200, 200, 200, 429]  # $0.1845 spent when the 4th asks: refused
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert "daily budget of $0.15" in body["error"]["message"] and "bob" in body["error"]["message"]
    openai_refusal = httpx.post(f"{replicas[1].base(token)}/v1/chat/completions", timeout=30, json={
        "model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": unique("architecture")}]})
    assert openai_refusal.status_code == 429
    assert openai_refusal.json()["error"]["type"] == "insufficient_quota"
    rows = wait_for(lambda: db_query(team_db, "SELECT status, error FROM requests WHERE key_name = 'bob' AND status = 429"))
    assert len(rows) == 2 and all("budget" in error for _, error in rows)  # the refusals have ledger rows


def test_concurrent_clients_overshoot_a_budget_by_at_most_the_requests_in_flight(replicas, team_db, tmp_path):
    import threading

    token = lynkr_keys(team_db, tmp_path, "create", "frank", "--budget-daily", "0.5", "--json")["token"]
    known_everywhere(replicas, token)
    refused = threading.Barrier(6 + 1, timeout=60)

    def client(n: int) -> None:
        replica = replicas[n % 3]
        while messages(replica.base(token), unique("architecture")).status_code == 200:
            pass
        refused.wait()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    refused.wait()  # every client has been refused once
    spent = wait_for(lambda: db_query(team_db, "SELECT usd FROM spend WHERE scope = 'key:frank' AND period LIKE 'd:%%'"))
    rows = db_query(team_db, "SELECT COUNT(*), SUM(cost_usd) FROM requests WHERE key_name = 'frank' AND status = 200")
    assert abs(rows[0][1] - spent[0][0]) < 1e-9
    assert 0.5 <= spent[0][0] <= 0.5 + 6 * 0.0615 + 1e-9  # at most one request per client past the budget


def test_a_request_rate_is_counted_across_replicas(replicas, team_db, tmp_path):
    for attempt in range(2):  # the rate is per UTC minute: a run that straddles two is done again
        token = lynkr_keys(team_db, tmp_path, "create", f"carol{attempt}", "--rpm", "4", "--json")["token"]
        known_everywhere(replicas, token)
        minute = time.time() // 60
        statuses = [messages(r.base(token), unique("quick")).status_code
                    for r in itertools.islice(itertools.cycle(replicas), 6)]
        if time.time() // 60 == minute:
            break
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_models_outside_a_keys_globs_are_refused(replicas, team_db, tmp_path):
    token = lynkr_keys(team_db, tmp_path, "create", "dave", "--models", "claude-haiku-*", "--json")["token"]
    known_everywhere(replicas, token)
    assert messages(replicas[0].base(token), unique("hi"), model="lynkr-simple").status_code == 200
    refused = messages(replicas[1].base(token), unique("the architecture"))  # routed to claude-sonnet-4-6
    assert refused.status_code == 403 and "claude-sonnet-4-6" in refused.json()["error"]["message"]


def test_an_answer_cached_by_one_replica_is_served_by_another(replicas, upstream):
    a, b, _ = replicas
    prompt = unique("what is 2+2")
    before = len(upstream.received)
    first = messages(a.base(TOKEN), prompt)
    assert first.status_code == 200 and first.headers["x-lynkr-cache"] == "miss"
    second = wait_for(lambda: _hit(messages(b.base(TOKEN), prompt)))
    assert second.json()["content"][0]["text"] == "pong from upstream"
    assert len(upstream.received) == before + 1  # one upstream call for both


def _hit(response: httpx.Response) -> httpx.Response | None:
    return response if response.headers.get("x-lynkr-cache") == "hit-exact" else None


def test_a_conversation_keeps_its_turns_model_on_another_replica(replicas, team_db):
    a, b, c = replicas
    session = f"conv-{time.time_ns()}"
    headers = {"x-claude-code-session-id": session}
    first_words = unique("tool: plan the architecture of the billing service")
    start = messages(a.base(TOKEN), first_words, headers=headers)
    assert start.status_code == 200 and start.headers["x-lynkr-tier"] == "COMPLEX"
    tool_use = start.json()["content"][0]
    history = [{"role": "user", "content": first_words}, {"role": "assistant", "content": [tool_use]}]
    loop = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "x = 1"}]}
    for replica in (b, c):  # the tool loop continues on other replicas
        body = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": [*history, loop]}
        response = httpx.post(f"{replica.base(TOKEN)}/v1/messages", json=body, headers=headers, timeout=30)
        assert response.status_code == 200
        assert response.headers["x-lynkr-tier"] == "COMPLEX" and response.headers["x-lynkr-model"] == "claude-sonnet-4-6"
    rows = wait_for(lambda: db_query(team_db, "SELECT details FROM requests WHERE details LIKE %s ORDER BY id",
                                     ("%kept for the tool loop%",)))
    assert len(rows) >= 2


def _series(text: str, name: str, *labels: str) -> list[float]:
    """Values of the ``name`` series whose labels include every one of ``labels`` (``key="alice"``)."""
    out = []
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")):
            head, value = line.rsplit(" ", 1)
            if all(label in head for label in labels):
                out.append(float(value))
    return out


def test_metrics_health_and_readiness(replicas):
    a, b, _ = replicas
    assert httpx.get(f"{a.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{a.url}/readyz").json() == {"status": "ready"}
    assert httpx.get(f"{a.url}/metrics").status_code == 401  # it names keys and models: the token is needed
    assert httpx.get(f"{a.url}/metrics", headers={"x-lynkr-token": "sk-lynkr-not-the-token"}).status_code == 401
    rebound = httpx.get(f"{a.url}/metrics", headers={"authorization": f"Bearer {TOKEN}", "host": "evil.example"})
    assert rebound.status_code == 403  # a web page that rebound its name to this address reads nothing
    texts = [httpx.get(f"{r.url}/metrics", headers={"authorization": f"Bearer {TOKEN}"}).text for r in (a, b)]
    alice = 'key="alice"', 'model="claude-haiku-4-5"', 'provider="anthropic"', 'tier="SIMPLE"'
    assert sum(_series(texts[0], "lynkr_requests_total", *alice)) >= 2
    assert sum(_series(texts[0], "lynkr_tokens_total", *alice, 'kind="input"')) >= 40_000
    assert sum(_series(texts[0], "lynkr_cost_usd_total", *alice)) > 0.04
    assert _series(texts[0], "lynkr_request_duration_seconds_count", *alice)
    assert _series(texts[0], "lynkr_time_to_first_byte_seconds_count", *alice)
    assert sum(_series(texts[1], "lynkr_cache_hits_total", 'kind="exact"')) >= 1  # b served the shared entry
    assert sum(_series(texts[0] + texts[1], "lynkr_errors_total", 'status="429"', 'key="bob"')) >= 1
    assert _series(texts[0], "lynkr_database_up") == [1.0] and _series(texts[0], "lynkr_ledger_spooled_rows") == [0.0]
    assert _series(texts[0], "lynkr_keys_active")[0] >= 3
