#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that slows downloads, for the interrupted-pull test.

  image_throttle_proxy.py PORT_FILE TARGET_PORT BYTES_PER_SECOND

Forwards every connection to 127.0.0.1:TARGET_PORT; bytes from the target to the client go at
most BYTES_PER_SECOND per connection. Writes its port to PORT_FILE once listening; exits when
its stdin closes.
"""
import asyncio
import os
import sys

PORT_FILE, TARGET, RATE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
CHUNK = 64 * 1024


async def pipe(reader, writer, rate):
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
            if rate:
                await asyncio.sleep(len(data) / rate)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", TARGET)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, up_writer, 0),
                         pipe(up_reader, client_writer, RATE))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the test closes the pipe


asyncio.run(main())
