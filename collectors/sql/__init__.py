"""SQL text of the collectors, one module per engine family."""
