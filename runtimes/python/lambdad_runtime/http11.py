"""A minimal HTTP/1.1 client for the Runtime API: one persistent connection,
requests with a Content-Length, answers framed by Content-Length, chunked
transfer coding (trailers read and dropped) or the end of the connection.

It replaces http.client, whose import (email, ssl and more) cost a cold
start about 40 ms, and whose header and body writes cost a warm invoke a
second packet. Nothing here is specific to lambdad's server.
"""

import socket


class ProtocolError(Exception):
    """An answer that is not HTTP/1.x, or a connection closed mid-answer."""


class Headers(dict):
    """Header names case-insensitively (stored lower-case); repeated fields
    are joined with ", "."""

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name):
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name):
        return dict.__contains__(self, name.lower())


def _split_address(address):
    host, _, port = address.rpartition(":")
    if not host:
        raise ValueError("Runtime API address without a port: %r" % address)
    return host.strip("[]"), int(port)


def _number(text, base):
    try:
        return int(text, base)
    except ValueError:
        raise ProtocolError("not a length: %r" % text) from None


def _connect(host, port):
    """A connected TCP socket. A numeric address is connected directly:
    create_connection's getaddrinfo imports the idna codec (2 ms)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
        return sock
    return socket.create_connection((host, port))


class Connection(object):
    def __init__(self, address):
        self.sock = _connect(*_split_address(address))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def close(self):
        self.reader.close()
        self.sock.close()

    def request(self, method, path, body, headers):
        """Sends one request in one write; returns (status, Headers, body,
        keep_alive)."""
        body = body or b""
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost"]
        for name, value in headers.items():
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            lines.append("%s: %s" % (name, value))
        if method != "GET" or body:
            lines.append("Content-Length: %d" % len(body))
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.sock.sendall(head + body)
        return self._answer(method)

    def _line(self):
        line = self.reader.readline(65537)
        if not line.endswith(b"\n"):
            raise ProtocolError("connection closed in the answer's head")
        return line.rstrip(b"\r\n").decode("latin-1")

    def _answer(self, method):
        status_line = self._line()
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError("not an HTTP/1.x status line: %r" % status_line)
        status = int(parts[1])
        headers = self._fields()
        if 100 <= status < 200:
            return self._answer(method)
        keep_alive = parts[0] != "HTTP/1.0" and "close" not in headers.get("connection", "").lower()
        if method == "HEAD" or status in (204, 304):
            return status, headers, b"", keep_alive
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return status, headers, self._chunked(), keep_alive
        length = headers.get("content-length")
        if length is None:
            return status, headers, self.reader.read(), False
        return status, headers, self._exactly(_number(length, 10)), keep_alive

    def _fields(self):
        headers = Headers()
        while True:
            line = self._line()
            if not line:
                return headers
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError("malformed header line: %r" % line)
            key, value = name.strip().lower(), value.strip()
            headers[key] = headers[key] + ", " + value if key in headers else value

    def _exactly(self, n):
        data = self.reader.read(n)
        if len(data) != n:
            raise ProtocolError("connection closed after %d of %d body bytes" % (len(data), n))
        return data

    def _chunked(self):
        parts = []
        while True:
            size = _number(self._line().split(";", 1)[0].strip(), 16)
            if size == 0:
                self._fields()  # trailers
                return b"".join(parts)
            parts.append(self._exactly(size))
            self._line()
