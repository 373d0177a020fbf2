"""A backend whose answers take a set time: GET /delay/N answers {"id":1,"name":...,"waited":N}
after N milliseconds (keep-alive HTTP/1.1, asyncio: many requests wait at once). The GraphQL
benchmark resolves three fields from /delay/10, /delay/20 and /delay/30 to show that a query's
latency follows its slowest service, not the sum. Usage: delay_backend.py PORT"""
import asyncio
import re
import sys

TARGET = re.compile(rb"^GET /delay/(\d+)")


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            match = TARGET.match(head)
            if match:
                ms = int(match.group(1))
                await asyncio.sleep(ms / 1000)
                body = b'{"id":1,"name":"Ada Lovelace","email":"ada@example.com","waited":%d}' % ms
                status = b"200 OK"
            else:
                body, status = b'{"message":"not found"}', b"404 Not Found"
            writer.write(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (status, len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
