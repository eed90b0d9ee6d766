"""`clustertop serve`: the TUI in a browser through textual-serve, on a page that needs no
network and measures its terminal with the font it draws with.

textual-serve's page asks Google Fonts for Roboto Mono. In a demo room without network (or
before the font arrives) the terminal measures its cells with a fallback font and then draws
with another, so the rows of block characters (sparklines, bars) no longer meet their cells.
The font ships in textual-serve's own static folder: this page declares it with @font-face,
and starts the terminal only once it is loaded. The page is textual-serve's own, patched
where it names the font, written once per run into a directory of ours."""

from __future__ import annotations

import tempfile
from pathlib import Path

FONT_URL = "{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf"
GOOGLE_FONT_LINK = """<link
      rel="stylesheet"
      href="https://fonts.googleapis.com/css?family=Roboto%20Mono"
    />"""
LOCAL_FONT = f"""<link rel="preload" href="{FONT_URL}" as="font" type="font/ttf" crossorigin />
    <style>
      @font-face {{
        font-family: "Roboto Mono";
        src: url("{FONT_URL}") format("truetype");
        font-weight: 100 700;
      }}
    </style>"""
TEXTUAL_SCRIPT = '<script src="{{ config.static.url }}js/textual.js"></script>'
# textual.js starts the terminal from window.onload: hold that until the font is in.
START_AFTER_FONT = TEXTUAL_SCRIPT + """
    <script>
      const startTerminal = window.onload;
      window.onload = (event) => {
        document.fonts.load("16px 'Roboto Mono'").finally(() => startTerminal(event));
      };
    </script>"""


class PageError(RuntimeError):
    """textual-serve's page is not the one this patch was written for."""


def page_templates(into: Path | None = None) -> Path:
    """A templates directory holding textual-serve's page with the local font."""
    import textual_serve

    original = Path(textual_serve.__file__).parent / "templates" / "app_index.html"
    html = original.read_text(encoding="utf-8")
    for expected in (GOOGLE_FONT_LINK, TEXTUAL_SCRIPT):
        if expected not in html:
            raise PageError(f"textual-serve's page ({original}) no longer has {expected[:40]!r}")
    html = html.replace(GOOGLE_FONT_LINK, LOCAL_FONT).replace(TEXTUAL_SCRIPT, START_AFTER_FONT)
    folder = into or Path(tempfile.mkdtemp(prefix="clustertop-serve-"))
    (folder / "app_index.html").write_text(html, encoding="utf-8")
    return folder


def serve(command: str, host: str, port: int, title: str = "clustertop") -> None:
    """Serve `command` (a Textual app) to browsers on host:port until interrupted."""
    import shutil

    from textual_serve.server import Server

    templates = page_templates()
    try:
        Server(command, host=host, port=port, title=title, templates_path=templates).serve()
    finally:
        shutil.rmtree(templates, ignore_errors=True)
