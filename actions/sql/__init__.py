"""SQL text of the actions, one module per engine family."""
