"""The baseline for bench/slack_serve.py: a minimal bolt AsyncApp that only echoes.

Same shape as `helpdesk serve`: aiohttp server, one shared client session, the Web API
at SLACK_API_URL. Prints `listening on http://127.0.0.1:PORT` when ready.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient


async def main() -> None:
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(
            token=os.environ["SLACK_BOT_TOKEN"],
            base_url=os.environ["SLACK_API_URL"],
            session=session,
        )
        app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

        @app.event("message")
        async def echo(event: dict[str, Any], say: Any) -> None:
            await say(text=event.get("text", ""), channel=event["channel"])

        async def handler(request: web.Request) -> web.StreamResponse:
            bolt_request = AsyncBoltRequest(
                body=await request.text(),
                query=request.query_string,
                headers={k.lower(): v for k, v in request.headers.items()},
            )
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))

        web_app = web.Application()
        web_app.router.add_post("/slack/events", handler)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        print(f"listening on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
