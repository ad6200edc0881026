"""Helpers of the Projector page: cached embeddings and projections, and background jobs."""
