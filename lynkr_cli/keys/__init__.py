"""Per-user keys for a team's ``lynkr serve``: issued by ``lynkr keys``, stored hashed, checked by
every replica, each with optional budgets, a request rate and the models it may use."""
