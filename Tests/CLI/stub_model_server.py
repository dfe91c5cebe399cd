"""A deterministic fake model server for the CLI tests (and for trying Tally without a real model).

It listens on 127.0.0.1 and speaks the OpenAI chat-completions API (`POST /v1/chat/completions`) and
the Ollama chat API (`POST /api/chat`), answering by rules written into the message text, like the
Swift stub in Tests/TallyEvaluationTests/StubModelServer.swift:

- `DELAY<ms>` (for example `DELAY200`): wait that long, then answer; `SLOW`: wait 10 s;
- `FAIL500`: always HTTP 500; `FAIL500ONCE`: HTTP 500 for the first request of that message;
- `GARBAGE`: content that is not JSON; `NOCONF`: JSON without a confidence; `OFFLABEL`: the label
  `astrology`; `FENCED`: the JSON inside a ```json fence with prose around it;
- otherwise the label of `LABEL=<id>` (default `sports`) with the confidence of `CONF=<x>` (default
  0.9), reasoning "stub" and the alternatives of `ALT=<id>`.

Rules for one model only (so that two models can disagree): `LABEL@<model>=<id>`,
`CONF@<model>=<x>`, `GARBAGE@<model>`, `DELAY@<model>=<ms>`; they win over the plain rules.

OpenAI requests must carry `Authorization: Bearer <api_key>` when the server has a key (else 401),
and both APIs must send the documented body fields (else 400).

Run it by hand: `python3 Tests/CLI/stub_model_server.py [--port N] [--api-key KEY]`.
"""
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 10.0


def _token(text, pattern):
    match = re.search(pattern, text)
    return match.group(1) if match else None


def decide(user, model):
    """What to answer to `user` for `model`: (status, content or error body, delay in seconds)."""
    m = re.escape(model)
    delay = 0.0
    if "SLOW" in user:
        delay = SLOW_SECONDS
    ms = _token(user, rf"DELAY@{m}=(\d+)") or _token(user, r"\bDELAY(\d+)")
    if ms is not None:
        delay = int(ms) / 1000
    garbage = re.search(rf"GARBAGE@{m}(?![^\s\"])", user) or re.search(r"\bGARBAGE\b(?!@)", user)
    if garbage:
        return 200, "I think it is about sports, probably.", delay
    if "NOCONF" in user:
        return 200, json.dumps({"label": "sports", "reasoning": "no confidence given"}), delay
    if "OFFLABEL" in user:
        label = "astrology"
    else:
        label = _token(user, rf"LABEL@{m}=([^\s\"]+)") or _token(user, r"\bLABEL=([^\s\"]+)") or "sports"
    confidence = _token(user, rf"CONF@{m}=([^\s\"]+)") or _token(user, r"\bCONF=([^\s\"]+)") or "0.9"
    alternative = _token(user, r"\bALT=([^\s\"]+)")
    content = ('{"label": "%s", "confidence": %s, "reasoning": "stub", "alternatives": %s}'
               % (label, confidence, json.dumps([alternative] if alternative else [])))
    if "FENCED" in user:
        content = "Sure! Here it is:\n```json\n" + content + "\n```\nHope that helps."
    return 200, content, delay


class StubModelServer:
    """`with StubModelServer(api_key="k") as s:` serves on `s.port` until the block ends."""

    def __init__(self, api_key="", host="127.0.0.1", port=0):
        self.api_key = api_key
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.attempts = {}
        self.models = []
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = None

    @property
    def openai_base_url(self):
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def ollama_base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def answer(self, path, headers, body):
        """(status, JSON body, delay in seconds) for one request."""
        is_openai = path == "/v1/chat/completions"
        if not is_openai and path != "/api/chat":
            return 404, {"error": "no such endpoint"}, 0
        if is_openai and self.api_key and headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"error": {"message": "bad api key"}}, 0
        try:
            request = json.loads(body)
            model = request["model"]
            messages = request["messages"]
            assert messages[0]["role"] == "system"
            user = [m["content"] for m in messages if m["role"] == "user"][-1]
            assert isinstance(model, str) and isinstance(user, str)
        except Exception:
            return 400, {"error": "bad request body"}, 0
        if is_openai:
            if request.get("response_format", {}).get("type") != "json_object" or request.get("temperature") != 0:
                return 400, {"error": "missing response_format or temperature"}, 0
        elif request.get("stream") is not False or request.get("format") != "json" \
                or request.get("options", {}).get("temperature") != 0:
            return 400, {"error": "missing stream, format or options"}, 0
        with self.lock:
            self.attempts[user] = self.attempts.get(user, 0) + 1
            attempt = self.attempts[user]
            self.models.append(model)
        status, content, delay = decide(user, model)
        if "FAIL500ONCE" in user:
            if attempt == 1:
                return 500, {"error": "boom"}, delay
        elif "FAIL500" in user:
            return 500, {"error": "boom"}, delay
        message = {"role": "assistant", "content": content}
        if is_openai:
            reply = {"id": "chatcmpl-stub", "object": "chat.completion", "model": model,
                     "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
        else:
            reply = {"model": model, "message": message, "done": True}
        return status, reply, delay

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with server.lock:
                    server.requests += 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    status, reply, delay = server.answer(self.path, self.headers, body)
                    if delay:
                        time.sleep(delay)
                    data = json.dumps(reply).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (timeout, cancelled job)
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def log_message(self, *args):
                pass

        return Handler


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="A deterministic fake model server.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="")
    args = parser.parse_args()
    stub = StubModelServer(api_key=args.api_key, port=args.port)
    print(f"stub model server: openai {stub.openai_base_url}  ollama {stub.ollama_base_url}", flush=True)
    try:
        stub.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
