"""Headless chromium (Debian's) driven over the DevTools protocol: open a page, and take
screenshots until one shows what a test waits for."""

from __future__ import annotations

import asyncio
import base64
import io
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


async def screenshot_when(
    url: str, ready: Callable[[Any], bool], *, timeout: float = 30.0,
    size: tuple[int, int] = (1000, 600),
) -> Any:
    """The first screenshot (a PIL image) of `url` for which `ready(image)` holds."""
    import aiohttp
    from PIL import Image

    assert CHROMIUM is not None
    profile = Path(tempfile.mkdtemp(prefix="clustertop-chromium-"))
    browser = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
         f"--window-size={size[0]},{size[1]}", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        port_file = profile / "DevToolsActivePort"
        while not (port_file.exists() and port_file.read_text().strip()):
            assert loop.time() < deadline, "chromium did not open its DevTools port"
            await asyncio.sleep(0.1)
        port = port_file.read_text().split()[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json") as response:
                page = next(t for t in await response.json() if t["type"] == "page")
            async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                calls = 0

                async def call(method: str, **params: Any) -> Any:
                    nonlocal calls
                    calls += 1
                    await ws.send_json({"id": calls, "method": method, "params": params})
                    while True:
                        message = await ws.receive_json()
                        if message.get("id") == calls:
                            return message.get("result", {})

                await call("Page.navigate", url=url)
                image = None
                while loop.time() < deadline:
                    await asyncio.sleep(0.5)
                    shot = await call("Page.captureScreenshot", format="png")
                    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
                    if ready(image):
                        return image
                raise AssertionError(f"{url} did not show what was awaited in {timeout:g} s")
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)
