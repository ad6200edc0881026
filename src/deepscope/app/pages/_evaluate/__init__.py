"""The Evaluate page's parts: where its data comes from (``data``), shared controls (``ui``) and
one module per view (``slices``, ``fairness``, ``compare``, ``errors``, ``whatif``)."""
