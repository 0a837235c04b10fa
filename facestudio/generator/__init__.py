"""Networks, weight loaders and the inference API (torch and numpy only; no Qt)."""
