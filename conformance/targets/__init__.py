"""The bundled reference target: a strict, correct server for every suite (see reference.py)."""
