"""What the CLI and the TUI both do: build pollers and start jobs from the config, and the
rules that decide whether they may. No Textual here."""
