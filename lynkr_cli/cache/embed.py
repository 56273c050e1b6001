"""The shipped static embedding model (``lynkr_cli/data/embedding``), loaded lazily and offline.

model2vec and numpy are imported on first use only (together ~0.25 s), never on ``lynkr run``'s start
path. ``HF_HUB_OFFLINE`` is set before the import so nothing tries the network: the model is a local
directory inside the package.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

MODEL_DIR = Path(__file__).resolve().parent.parent / "data" / "embedding"
_lock = threading.Lock()
_model: Any = None


def model_available() -> bool:
    return (MODEL_DIR / "model.safetensors").exists()


def load_model() -> Any:
    """The StaticModel, loaded once per process."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from model2vec import StaticModel

                _model = StaticModel.from_pretrained(str(MODEL_DIR))
    return _model


def embed(text: str) -> bytes:
    """The unit-length float32 embedding of ``text``, as bytes for the cache file."""
    import numpy as np

    vector = np.asarray(load_model().encode([text])[0], dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).tobytes()


def cosine(a: bytes, b: bytes) -> float:
    """Cosine similarity of two stored unit vectors."""
    import numpy as np

    va, vb = np.frombuffer(a, dtype=np.float32), np.frombuffer(b, dtype=np.float32)
    if va.shape != vb.shape:
        return 0.0
    return float(np.dot(va, vb))
