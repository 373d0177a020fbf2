"""A python3-websockets server for the WebSocket tests (HTTP/1.1 and HTTP/2 clients alike): it
echoes by default, and a path word picks another behaviour (silent, sink, farewell, bye,
plain200)."""
import asyncio
import http
import threading

import websockets

from conftest import free_port


class Backend:
    """A websockets server on its own event loop thread; remembers what it saw."""

    def __init__(self):
        self.port = free_port()
        self.seen = []          # request headers of each handshake
        self.closes = []        # close codes the clients sent
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    async def handler(self, ws, path=None):
        path = path or ws.path
        self.seen.append(dict(ws.request_headers))
        try:
            if "silent" in path:
                await asyncio.sleep(30)
            elif "sink" in path:  # only receives, answers once at the end
                count = 0
                async for message in ws:
                    if message == "done":
                        await ws.send(str(count))
                    else:
                        count += 1
            elif "farewell" in path:  # a last large message, then the close at once
                await ws.send(b"f" * (1 << 20))
                await ws.close(4003, "farewell")
            elif "bye" in path:
                await ws.close(4001, "bye")
            else:
                async for message in ws:
                    await ws.send(message)
        except websockets.ConnectionClosed:
            pass
        self.closes.append(ws.close_code)

    @staticmethod
    async def process_request(path, headers):
        if "plain200" in path:  # answers the upgrade with an ordinary 200
            return http.HTTPStatus.OK, [("Content-Type", "text/plain")], b"not a websocket"
        return None

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            websockets.serve(self.handler, "127.0.0.1", self.port, max_size=None, ping_interval=None,
                             process_request=self.process_request))
        self.ready.set()
        self.loop.run_forever()
        server.close()
