"""Text to vectors: the Embedder protocol and its sentence-transformers adapter."""
