"""The gRPC service (servicer, model registry, request batching).

Only serving lives here; everything it needs from the model comes from `translator`:
the registry loads each model as a `Translator`, and the batcher runs every request
through `translator.documents.DocumentSearch` on that translator's `Decoding` (the
scheduler core offline translation uses too), carrying each document's `DocState`
from call to call in the request's context bytes (`server/contextblob.py`).
"""
