#!/usr/bin/env python3
"""Sends an exact number of keep-alive HTTP/1.1 requests, for measures per request.

wrk runs for a time, not a count; an instruction or allocation count per request needs a known
number of requests. This client keeps CONNECTIONS keep-alive connections, each with one request
in flight at a time (as wrk does), until REQUESTS answers have come, and checks every answer's
status code.

Usage: drive.py URL --requests N [--connections C] [--method M] [--header 'Name: value']...
                [--body TEXT] [--content-type TYPE] [--expect CODE] [--contains TEXT]
Prints "requests=N seconds=S"; exits 1 on a refused connection, a closed connection or an
unexpected status code.
"""
import argparse
import selectors
import socket
import sys
import time
import urllib.parse


def build_request(url, method, headers, body, content_type):
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += headers
    data = body.encode() if body else b""
    if data or method in ("POST", "PUT"):
        if data:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data, parts


class Connection:
    def __init__(self, address):
        self.sock = socket.create_connection(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = b""

    def answer(self):
        """One whole answer off the buffer: (status, body) or None when more is needed."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buffer[:head_end].decode("latin-1")
        status = int(head.split(" ", 2)[1])
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        end = head_end + 4 + length
        if len(self.buffer) < end:
            return None
        body = self.buffer[head_end + 4:end]
        self.buffer = self.buffer[end:]
        return status, body


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--requests", type=int, required=True)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--method", default="GET")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--body", default="")
    p.add_argument("--content-type", default="application/x-www-form-urlencoded")
    p.add_argument("--expect", type=int, default=200)
    p.add_argument("--contains", default="", help="text every answer's body must hold")
    a = p.parse_args()

    request, parts = build_request(a.url, a.method, a.header, a.body, a.content_type)
    address = (parts.hostname, parts.port or 80)
    want = a.contains.encode()
    sel = selectors.DefaultSelector()
    conns = [Connection(address) for _ in range(min(a.connections, a.requests))]
    sent = 0
    done = 0
    start = time.monotonic()
    for c in conns:
        c.sock.sendall(request)
        sent += 1
        sel.register(c.sock, selectors.EVENT_READ, c)
    while done < a.requests:
        events = sel.select(timeout=60)
        if not events:
            sys.exit(f"drive: no answer within 60 s after {done} answers")
        for key, _ in events:
            c = key.data
            data = c.sock.recv(65536)
            if not data:
                sys.exit(f"drive: the server closed a connection after {done} answers")
            c.buffer += data
            while (answer := c.answer()) is not None:
                status, body = answer
                if status != a.expect or (want and want not in body):
                    sys.exit(f"drive: answer {done + 1} was {status}: {body[:300]!r}")
                done += 1
                if sent < a.requests:
                    c.sock.sendall(request)
                    sent += 1
    seconds = time.monotonic() - start
    for c in conns:
        c.sock.close()
    print(f"requests={done} seconds={seconds:.3f}")


if __name__ == "__main__":
    main()
