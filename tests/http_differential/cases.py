"""The HTTP/1.1 differential test's cases: requests written to probe framing, header syntax,
whitespace, line endings, encodings and lengths (fixed), and random mutations of them (seeded).
Each case is one client connection's bytes. Standard library only."""

import base64
import random

CRLF = b"\r\n"


def request(method=b"GET", target=b"/", version=b"HTTP/1.1", headers=((b"Host", b"example.com"),), body=b"",
            eol=CRLF, line=None):
    start = line if line is not None else method + b" " + target + b" " + version
    head = start + eol + b"".join(n + b": " + v + eol if v is not None else n + eol for n, v in headers) + eol
    return head + body


def with_headers(*extra, body=b"", method=b"POST", **kw):
    return request(method=method, headers=((b"Host", b"example.com"),) + tuple(extra), body=body, **kw)


def chunked(body):
    return with_headers((b"Transfer-Encoding", b"chunked"), body=body)


def fixed_cases():
    cases = []

    def add(name, data):
        cases.append((name, data))

    # -- framing: Content-Length
    for value in [b"0", b"3", b"03", b"+3", b"-1", b"3 ", b" 3", b"3,3", b"3, 3", b"3,4", b"0x3", b"", b"3.0",
                  b"99999999999999999999", b"18446744073709551616", b"1e2", b"\t3", b"00000000000000000003"]:
        add("content-length %r" % value, with_headers((b"Content-Length", value), body=b"abc"))
    add("content-length twice same", with_headers((b"Content-Length", b"3"), (b"Content-Length", b"3"), body=b"abc"))
    add("content-length twice different", with_headers((b"Content-Length", b"3"), (b"Content-Length", b"4"), body=b"abcd"))
    add("content-length short body", with_headers((b"Content-Length", b"10"), body=b"abc"))
    add("content-length on GET", with_headers((b"Content-Length", b"3"), body=b"abc", method=b"GET"))
    # -- framing: Transfer-Encoding
    body = b"3\r\nabc\r\n0\r\n\r\n"
    for value in [b"chunked", b"Chunked", b"CHUNKED", b"chunked ", b"gzip, chunked", b"chunked, gzip", b"identity",
                  b"chunked,chunked", b"chunked, chunked", b"x", b"", b"gzip", b"chunked;q=1", b"\tchunked", b"chunked\t",
                  b"gzip,chunked", b" chunked", b"chunk", b"chunkedx"]:
        add("transfer-encoding %r" % value, with_headers((b"Transfer-Encoding", value), body=body))
    add("transfer-encoding and content-length",
        with_headers((b"Content-Length", b"4"), (b"Transfer-Encoding", b"chunked"), body=body))
    add("content-length and transfer-encoding",
        with_headers((b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"4"), body=body))
    add("transfer-encoding twice", with_headers((b"Transfer-Encoding", b"gzip"), (b"Transfer-Encoding", b"chunked"), body=body))
    add("transfer-encoding on HTTP/1.0", request(method=b"POST", version=b"HTTP/1.0",
                                               headers=((b"Host", b"h"), (b"Transfer-Encoding", b"chunked")), body=body))
    # -- chunked bodies
    for size_line in [b"3", b"03", b"0003", b"A", b"a", b"3;ext", b"3;ext=1", b"3;ext=\"q\"", b"3 ;ext", b"3 ", b" 3",
                      b"3\t", b"0x3", b"-3", b"+3", b"fffffffffffffffff", b"ffffffffffffffff", b"3;", b"3;=1",
                      b"3;ext=\"a\\\"b\"", b"g", b""]:
        size = int(size_line.split(b";")[0].strip() or b"0", 16) if all(
            c in b"0123456789abcdefABCDEF" for c in size_line.split(b";")[0].strip()) and size_line.strip() else 3
        data = b"x" * min(size, 16)
        add("chunk size %r" % size_line, chunked(size_line + CRLF + data + CRLF + b"0\r\n\r\n"))
    add("chunk data without CRLF", chunked(b"3\r\nabc0\r\n\r\n"))
    add("chunk data with LF only", chunked(b"3\r\nabc\n0\r\n\r\n"))
    add("chunk size line LF only", chunked(b"3\nabc\r\n0\r\n\r\n"))
    add("chunk data too long", chunked(b"3\r\nabcd\r\n0\r\n\r\n"))
    add("last chunk without final CRLF", chunked(b"3\r\nabc\r\n0\r\n"))
    add("trailer", chunked(b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"))
    add("trailer space before colon", chunked(b"3\r\nabc\r\n0\r\nX-Trailer : 1\r\n\r\n"))
    add("trailer obs-fold", chunked(b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n 2\r\n\r\n"))
    add("trailer without colon", chunked(b"3\r\nabc\r\n0\r\nX-Trailer\r\n\r\n"))
    add("framing field in trailers", chunked(b"3\r\nabc\r\n0\r\nTransfer-Encoding: x\r\n\r\n"))
    add("chunks then request", chunked(b"3\r\nabc\r\n0\r\n\r\n") + request(target=b"/next"))
    add("empty chunked body", chunked(b"0\r\n\r\n"))
    # -- header syntax
    for name, value in [(b"X-A ", b"1"), (b"X-A\t", b"1"), (b"", b"1"), (b"X A", b"1"), (b"X@A", b"1"), (b"X\"A", b"1"),
                        (b"X(A)", b"1"), (b"X/A", b"1"), (b"X{A}", b"1"), (b"X-A", b"a\x01b"), (b"X-A", b"a\x7fb"),
                        (b"X-A", b"a\x00b"), (b"X-A", b"caf\xe9"), (b"X-A", b"\xff\xfe"), (b"X-A", b"a\tb"), (b"X-A", b""),
                        (b"X-A", b"  padded  "), (b"X-A", b"\tpadded\t"), (b"X-\xe9", b"1"), (b"!#$%&'*+-.^_`|~", b"1"),
                        (b"X-A", b"a\rb"), (b"X-A", b"a\x0bb"), (b"X-A", b"a\x0cb")]:
        add("header %r: %r" % (name, value), request(headers=((b"Host", b"example.com"), (name, value))))
    add("obs-fold", request(headers=((b"Host", b"h"), (b"X-A", b"1\r\n 2"))))
    add("obs-fold with tab", request(headers=((b"Host", b"h"), (b"X-A", b"1\r\n\t2"))))
    add("first header line folded", request(line=b"GET / HTTP/1.1\r\n X-A: 1", headers=((b"Host", b"h"),)))
    add("header without colon", request(headers=((b"Host", b"h"), (b"X-A", None))))
    add("header name only colon", request(headers=((b"Host", b"h"), (b":", b"1"))))
    add("101 headers", request(headers=((b"Host", b"h"),) + tuple((b"X-%d" % i, b"v") for i in range(100))))
    add("100 headers", request(headers=((b"Host", b"h"),) + tuple((b"X-%d" % i, b"v") for i in range(99))))
    add("long header value", request(headers=((b"Host", b"h"), (b"X-A", b"v" * 20000))))
    add("too long head", request(headers=((b"Host", b"h"), (b"X-A", b"v" * 40000))))
    # -- Host
    add("no Host on HTTP/1.1", request(headers=()))
    add("no Host on HTTP/1.0", request(version=b"HTTP/1.0", headers=()))
    add("two Host fields", request(headers=((b"Host", b"a"), (b"Host", b"b"))))
    add("empty Host", request(headers=((b"Host", b""),)))
    for host in [b"a b", b"a/b", b"a@b", b"[::1]:80", b"[::1", b"h:", b"h:99999", b"h:8x", b"h_1.example", b"xn--e1a.example",
                 b"h\xe9"]:
        add("Host %r" % host, request(headers=((b"Host", host),)))
    # -- whitespace and line endings
    for line in [b"GET  / HTTP/1.1", b"GET /  HTTP/1.1", b"GET\t/ HTTP/1.1", b"GET / HTTP/1.1 ", b" GET / HTTP/1.1",
                 b"GET /\tHTTP/1.1", b"GET / HTTP/1.1\t", b"GET  /  HTTP/1.1"]:
        add("request line %r" % line, request(line=line))
    add("leading CRLF", CRLF + request())
    add("leading LF", b"\n" + request())
    add("leading CRLFs", CRLF * 3 + request())
    add("bare LF line ends", request(eol=b"\n"))
    add("bare CR line ends", request(eol=b"\r"))
    add("bare LF after head", request()[:-2] + b"\n")
    add("CR LF LF", request()[:-2] + b"\n\r\n")
    add("trailing CRLF after request", request() + CRLF)
    add("trailing CRLFs after request", request() + CRLF * 3)
    add("mixed line ends", b"GET / HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n")
    # -- request line
    for method in [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE", b"get", b"Get",
                   b"PURGE", b"FOO", b"M-SEARCH", b"PROPFIND", b"MKCOL", b"LINK", b"QUERY", b"G@T", b"GE T"]:
        add("method %r" % method, request(method=method))
    add("CONNECT", request(method=b"CONNECT", target=b"example.com:443"))
    add("OPTIONS *", request(method=b"OPTIONS", target=b"*"))
    add("GET *", request(target=b"*"))
    for target in [b"/a?b=c&d", b"/a#frag", b"http://example.com/p?q", b"https://example.com", b"HTTP://EXAMPLE.COM/p",
                   b"example.com/p", b"//double", b"/%00", b"/%zz", b"/caf\xe9", b"/a b", b"/a\tb", b"/a\"b", b"/a<b>",
                   b"/a{b}", b"/a|b", b"/a\\b", b"/a^b", b"/a`b", b"/~user", b"/a\x7fb", b"/" + b"p" * 9000, b"", b"?q",
                   b"/a?b?c", b"/[x]", b"/@"]:
        add("target %r" % target[:40], request(target=target))
    for version in [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.10", b"http/1.1", b"HTTP/1.1x",
                    b"HTTP/1", b"HTTP/11", b"HTTP/3.0", b"HTTP/1.2", b"HTTP/9.9", b"HTTPS/1.1", b""]:
        add("version %r" % version, request(version=version))
    # -- pipelines and connection handling
    add("pipeline of three", request(target=b"/1") + request(target=b"/2") + request(target=b"/3"))
    add("body then request", with_headers((b"Content-Length", b"3"), body=b"abc") + request(target=b"/next"))
    add("close then request", request(headers=((b"Host", b"h"), (b"Connection", b"close"))) + request(target=b"/next"))
    add("HTTP/1.0 then request", request(version=b"HTTP/1.0") + request(target=b"/next"))
    add("HTTP/1.0 keep-alive then request",
        request(version=b"HTTP/1.0", headers=((b"Host", b"h"), (b"Connection", b"keep-alive"))) + request(target=b"/next"))
    add("partial head", request()[:-4])
    add("partial request line", b"GET /pa")
    add("only CRLF", CRLF)
    add("unfinished request line with NUL", b"GET /\x00a")
    add("leading bare CR", b"\r" + request())
    # -- Expect, Upgrade, Connection
    add("expect 100-continue", with_headers((b"Expect", b"100-continue"), (b"Content-Length", b"3"), body=b"abc"))
    add("expect other", with_headers((b"Expect", b"something"), (b"Content-Length", b"3"), body=b"abc"))
    add("websocket upgrade", request(headers=((b"Host", b"h"), (b"Connection", b"Upgrade"), (b"Upgrade", b"websocket"),
                                              (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
                                              (b"Sec-WebSocket-Version", b"13"))) + b"\x81\x00")
    add("h2c upgrade then request", request(headers=((b"Host", b"h"), (b"Connection", b"Upgrade, HTTP2-Settings"),
                                                     (b"Upgrade", b"h2c"), (b"HTTP2-Settings", b"AAMAAABkAAQCAAAAAAIAAAAA")))
        + request(target=b"/next"))
    add("connection tokens", request(headers=((b"Host", b"h"), (b"Connection", b"keep-alive, X-Foo"), (b"X-Foo", b"1"))))
    add("Connection with a space in a token", request(headers=((b"Host", b"h"), (b"Connection", b"keep alive"))))
    add("Connection with a separator", request(headers=((b"Host", b"h"), (b"Connection", b"close;x"))))
    add("keep-alive header", request(headers=((b"Host", b"h"), (b"Keep-Alive", b"timeout=5"))))
    return cases


# Bytes mutations insert: what framing and header syntax turn on.
DICTIONARY = [b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b",", b";", b"0", b"1", b"f", b"\x00", b"\x7f", b"\x80", b"\xff",
              b"\r\n\r\n", b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n", b"Connection: close\r\n",
              b"Host: h\r\n", b"chunked", b"HTTP/1.1", b"GET / HTTP/1.1\r\n", b"0\r\n\r\n", b"\r\n 2", b"=", b"\"",
              b"Content-Length: 0\r\n", b"Expect: 100-continue\r\n", b"Upgrade: websocket\r\n"]


def mutate(data, rng):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            del data[min(pos, len(data) - 1)]
        elif op == 1:
            data[pos:pos] = rng.choice(DICTIONARY)
        elif op == 2 and data:
            data[min(pos, len(data) - 1)] = rng.choice(DICTIONARY)[0]
        else:  # repeat a line
            lines = bytes(data).split(b"\r\n")
            k = rng.randrange(len(lines))
            lines.insert(k, lines[k])
            data = bytearray(b"\r\n".join(lines))
    return bytes(data)


def mutated_cases(base, count, seed):
    rng = random.Random(seed)
    return [("mutation %d of %s" % (i, name), mutate(data, rng))
            for i, (name, data) in ((i, rng.choice(base)) for i in range(count))]


def as_json(cases):
    return [{"name": name, "bytes": base64.b64encode(data).decode()} for name, data in cases]
