"""Tier routing: which model answers each request, kept coherent per session, with fallback and budgets.

``score.py`` (weights in one table), ``rules.py`` (force and slot rules), ``coherence.py`` (one model
per user turn), ``router.py`` (the decision), ``budget.py``, ``fallback.py`` (retries, chain, circuit
breakers), ``setup.py`` (built from settings).
"""
