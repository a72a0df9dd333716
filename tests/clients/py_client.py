"""A real MCP client (the official Python SDK) for kube-mcp's tests.

Connects over streamable HTTP or legacy SSE, lists tools, optionally calls
one, and prints one JSON object on stdout for the Rust test to assert on.

With --mode (legacy: the 2025-11-25 handshake; 2026-07-28: no session,
input-required results) it uses the SDK's high-level Client, which checks
structured results against the tools' output schemas, answers the server's
questions as --elicit says, and can ask for completions.
"""

import argparse
import asyncio
import json
import sys

from mcp import ClientSession


def _open(transport: str, url: str, headers: dict):
    if transport == "sse":
        from mcp.client.sse import sse_client

        return sse_client(url, headers=headers)
    from mcp.client.streamable_http import streamable_http_client

    try:  # mcp 2.x ships its own httpx fork
        import httpx2 as httpx
    except ImportError:
        import httpx

    return streamable_http_client(url, http_client=httpx.AsyncClient(headers=headers, timeout=60))


def _get(obj, *names):
    """Reads a field under its 2.x (snake_case) or 1.x (camelCase) name."""
    for n in names:
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


async def with_client(a, headers: dict) -> dict:
    """The SDK's high-level Client at the revision --mode names."""
    import mcp_types as types
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    try:
        import httpx2 as httpx
    except ImportError:
        import httpx

    out = {"asked": []}

    async def elicit(context, params):
        out["asked"].append(params.message)
        if a.elicit == "yes":
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action="decline")

    transport = streamable_http_client(a.url, http_client=httpx.AsyncClient(headers=headers, timeout=60))
    callback = elicit if a.elicit else None
    async with Client(transport, mode=a.mode, elicitation_callback=callback) as client:
        out["protocol"] = str(client.protocol_version)
        tools = await client.list_tools()
        out["tools"] = [t.name for t in tools.tools]
        out["output_schemas"] = sorted(t.name for t in tools.tools if t.output_schema)
        if a.call:
            # The SDK checks structured content against the tool's output schema.
            r = await client.call_tool(a.call, json.loads(a.args))
            out["call"] = {
                "is_error": bool(r.is_error),
                "text": "\n".join(c.text for c in r.content if getattr(c, "type", "") == "text"),
                "structured": r.structured_content,
            }
        if a.templates:
            r = await client.list_resource_templates()
            out["templates"] = [t.uri_template for t in r.resource_templates]
        for spec in a.complete:
            # {"ref": {"type": "ref/prompt", "name": ...}, "argument": {...}, "context": {...}}
            spec = json.loads(spec)
            ref = spec["ref"]
            ref = (
                types.PromptReference(name=ref["name"])
                if ref["type"] == "ref/prompt"
                else types.ResourceTemplateReference(uri=ref["uri"])
            )
            r = await client.complete(ref, spec["argument"], spec.get("context"))
            out.setdefault("completions", []).append(
                {"values": r.completion.values, "total": r.completion.total, "has_more": r.completion.has_more}
            )
    return out


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--transport", choices=["http", "sse"], default="http")
    p.add_argument("--token")
    p.add_argument("--call")
    p.add_argument("--args", default="{}")
    p.add_argument("--resource")
    p.add_argument("--prompt")
    p.add_argument("--mode", choices=["legacy", "2026-07-28"])
    p.add_argument("--elicit", choices=["yes", "no"])
    p.add_argument("--templates", action="store_true")
    p.add_argument("--complete", action="append", default=[])
    a = p.parse_args()
    headers = {"X-MCP-AUTH": a.token} if a.token else {}
    if a.mode:
        print(json.dumps(await with_client(a, headers)))
        return 0
    out = {}
    async with _open(a.transport, a.url, headers) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            out["server"] = _get(init, "server_info", "serverInfo").name
            out["protocol"] = str(_get(init, "protocol_version", "protocolVersion"))
            tools = await session.list_tools()
            out["tools"] = [t.name for t in tools.tools]
            out["annotations"] = {
                t.name: (t.annotations.model_dump(exclude_none=True) if t.annotations else {}) for t in tools.tools
            }
            if a.call:
                r = await session.call_tool(a.call, json.loads(a.args))
                out["call"] = {
                    "is_error": bool(_get(r, "is_error", "isError")),
                    "text": "\n".join(c.text for c in r.content if getattr(c, "type", "") == "text"),
                }
            if a.resource:
                r = await session.read_resource(a.resource)
                out["resource"] = "\n".join(getattr(c, "text", "") for c in r.contents)
            if a.prompt:
                r = await session.get_prompt(a.prompt, {"keyword": "web"})
                out["prompt"] = [m.content.text for m in r.messages if getattr(m.content, "type", "") == "text"]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
