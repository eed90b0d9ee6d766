"""The Textual front end: one client of collectors/ and actions/."""
