"""The gRPC service (servicer, model registry, request batching); built by the gRPC issue.

Only serving lives here; everything it needs from the model comes from `translator`
(`Translator.translate_sentences` takes and returns the per-document context).
"""
