#!/usr/bin/python3
"""Differential test of Portico's HTTP/1.1 request parsing against Node.js's llhttp.

    differential.py --runner PATH [--mutations N] [--seed S] [--show N]

Every case (cases.py: fixed requests, then N seeded mutations of them) is one client
connection's bytes. The runner (Portico's parser and chunked decoder, read as the proxy reads a
connection) and oracle.js (llhttp as Node's http server sets it up) each print, per case, the
requests read in full (method, target, version, headers, body, upgrade) and how the stream ended
(complete, incomplete, error; Portico also "closed": it stops reading after a request that closes
the connection). They agree when both refuse the stream (error, whatever the reason), or read the
same requests and end the same way.

A disagreement is either a bug to fix, or one of the differences in DIFFERENCES below, each
with the RFC text that justifies Portico's answer (also in README.md). A disagreement no entry
explains fails the test, and so does an entry that explains nothing in the fixed corpus (a
stale excuse). Exit status: 0 when all agree or are explained, 1 otherwise, 2 on a tool failure.
Standard library only.
"""

import argparse
import collections
import json
import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as corpus  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_HEAD = 32768  # Portico's default max head size; llhttp is given the same


def messages_equal(a, b):
    return a == b


def agree(p, n):
    if p["outcome"] == "error" and n["outcome"] == "error":
        return True
    # Portico stops reading after a request that closes the connection; llhttp reads on and
    # refuses the bytes after it (HPE_CLOSED_CONNECTION, or what it finds wrong in them): the
    # same requests were served.
    # (any error llhttp finds there is in bytes Portico never reads)
    if p["outcome"] == "closed" and n["outcome"] == "error":
        return messages_equal(p["messages"], n["messages"])
    return p["outcome"] == n["outcome"] and messages_equal(p["messages"], n["messages"])


def first_message(result):
    return result["messages"][0] if result["messages"] else None


def header(message, name):
    return [v for n, v in message["headers"] if n == name] if message else []


def differs_only_in(p, n, field):
    """Both read the same number of requests, ended the same way, and their messages differ in
    `field` alone."""
    if p["outcome"] != n["outcome"] or len(p["messages"]) != len(n["messages"]):
        return False
    strip = lambda ms: [{k: v for k, v in m.items() if k != field} for m in ms]  # noqa: E731
    return strip(p["messages"]) == strip(n["messages"]) and p["messages"] != n["messages"]


# (name, RFC justification, predicate(case bytes, portico result, node result)): the differences
# Portico keeps on purpose. Predicates are narrow: each names what Portico does instead.
def portico_refused(prefixes):
    """Portico refused with one of its own answers (status and message) starting so, where
    llhttp read the stream without an error."""
    def predicate(data, p, n):
        return p["outcome"] == "error" and n["outcome"] != "error" and any(p["error"].startswith(x) for x in prefixes)
    return predicate


def node_refused(codes, portico_read):
    """llhttp refused with one of `codes` where Portico read on: the requests both read first
    are the same, and `portico_read(data, p, n)` says what Portico read that llhttp did not."""
    def predicate(data, p, n):
        if n["outcome"] != "error" or n["error"] not in codes or p["outcome"] == "error":
            return False
        k = len(n["messages"])
        return p["messages"][:k] == n["messages"] and portico_read(data, p, n)
    return predicate


def next_message(p, n):
    k = len(n["messages"])
    return p["messages"][k] if len(p["messages"]) > k else None


def method_beyond_llhttp(data, p, n):
    m = next_message(p, n)
    if m is not None:
        return m["method"] not in NODE_METHODS
    return p["outcome"] == "incomplete"  # a head begun with bytes llhttp takes for no method


# Node's http.METHODS (llhttp 9.3.1 as Node 20 builds it)
NODE_METHODS = set("ACL BIND CHECKOUT CONNECT COPY DELETE GET HEAD LINK LOCK M-SEARCH MERGE MKACTIVITY MKCALENDAR "
                   "MKCOL MOVE NOTIFY OPTIONS PATCH POST PROPFIND PROPPATCH PURGE PUT QUERY REBIND REPORT SEARCH "
                   "SOURCE SUBSCRIBE TRACE UNBIND UNLINK UNLOCK UNSUBSCRIBE".split())


def heads(data):
    """Each request head's bytes in the stream (roughly: what lies before each empty line)."""
    return data.split(b"\r\n\r\n")


def repeated_identical_content_length(data, p, n):
    for head in heads(data):
        values = re.findall(rb"\r\ncontent-length:[ \t]*([0-9]+)[ \t]*(?=\r\n)", head + b"\r\n", re.I)
        if len(values) > 1 and len({int(v) for v in values}) == 1:
            return True
    return False


def framing_value_with_whitespace(data, p, n):
    return re.search(rb"\r\n(transfer-encoding:[ \t]*chunked|content-length:[ \t]*[0-9]+)[ \t]+\r\n", data, re.I) is not None


def field_in_trailers(data, p, n):
    """A framing field among a chunked body's trailer fields, which Portico drops."""
    return re.search(rb"\r\n0\r\n([^\r\n]+\r\n)*(transfer-encoding|content-length):", data, re.I) is not None


def bws_in_chunk_line(data, p, n):
    return re.search(rb"[ \t][;=]|[;=][ \t]", data.split(b"\r\n\r\n", 1)[-1]) is not None


def higher_minor_version(data, p, n):
    return re.search(rb" HTTP/1\.[2-9]\r\n", data) is not None


def upgrade_ignored(data, p, n):
    """llhttp stopped at an Upgrade that is not a WebSocket handshake; Portico served the request
    as plain HTTP and read on."""
    k = len(n["messages"])
    if k == 0 or not n["messages"][-1]["upgrade"]:
        return False
    last = n["messages"][-1]
    same = dict(last, upgrade=False)
    # (what Portico then reads as the next request is its own business: llhttp reads no more)
    return (len(p["messages"]) >= k and p["messages"][:k - 1] == n["messages"][:k - 1] and p["messages"][k - 1] == same
            and [v.lower() for v in header(last, "upgrade")] != ["websocket"])


def bare_cr_in_head(data, p, n):
    return p["outcome"] == "error" and n["outcome"] != "error" and any(
        re.search(rb"\r(?!\n)", re.sub(rb"^(\r\n)+", b"", head)) for head in data.split(b"\r\n\r\n"))


def long_content_length(data, p, n):
    return (p["outcome"] == "error" and p["error"] == "400 invalid Content-Length" and n["outcome"] != "error"
            and re.search(rb"\r\ncontent-length:[ \t]*[0-9]{20,}[ \t]*\r\n", data, re.I) is not None)


def judged_at_line_end(data, p, n):
    """llhttp refused a byte of a line Portico had not finished reading: Portico reads a line
    whole before it judges it, and the stream ended inside that line."""
    return (p["outcome"] == "incomplete" and n["outcome"] == "error" and p["messages"] == n["messages"]
            and not data.endswith(b"\n"))


DIFFERENCES = [
    # --- Portico refuses what llhttp reads
    ("Host is required, single and valid", "RFC 9112 3.2: a server MUST respond 400 to an HTTP/1.1 request without "
     "Host, with more than one Host, or with an invalid one",
     portico_refused(["400 missing Host header", "400 repeated Host header", "400 invalid Host header"])),
    ("the request line is method SP target SP version", "RFC 9112 3: request-line = method SP request-target SP "
     "HTTP-version; whitespace-tolerant parsing is only a MAY (3, 'a recipient MAY instead parse on whitespace-"
     "delimited word boundaries'), and a gateway that tolerates what its upstream may not splits requests differently",
     portico_refused(["400 malformed request line", "400 malformed HTTP version", "400 invalid request line"])),
    ("a bare CR is invalid", "RFC 9112 2.2: a recipient of a bare CR MUST consider that element invalid or replace it "
     "with SP; Portico refuses the message (llhttp skips one before a request line)", bare_cr_in_head),
    ("Connection is a list of tokens", "RFC 9110 7.6.1: Connection = #connection-option, connection-option = token; "
     "a gateway must know which fields are hop-by-hop", portico_refused(["400 invalid Connection header"])),
    ("a bare LF ends no line", "RFC 9112 2.2: a recipient MAY recognize a single LF as a line terminator; Portico "
     "does not (nor a bare CR, which 2.2 forbids), so no request means two things to two parsers",
     portico_refused(["400 invalid line ending"])),
    ("transfer codings other than a single chunked are refused", "RFC 9112 6.1: a server that receives a transfer "
     "coding it does not understand SHOULD respond 501; Portico does not decode compressed request bodies (nginx "
     "answers the same)", portico_refused(["501 unsupported transfer coding", "400 repeated Transfer-Encoding"])),
    ("Transfer-Encoding in HTTP/1.0 is faulty framing", "RFC 9112 6.1: a server that receives an HTTP/1.0 message "
     "with Transfer-Encoding MUST treat its framing as faulty", portico_refused(["400 Transfer-Encoding in an HTTP/1.0"])),
    ("a chunk extension is a token, and sizes stay under 2^60", "RFC 9112 7.1.1: chunk-ext-name = token (not empty); "
     "7.1: recipients MUST prevent integer overflows in chunk sizes",
     portico_refused(["400 malformed chunk size or extension"])),
    ("at most 100 header fields", "RFC 6585 5: 431 when the header fields are too large; the count is Portico's "
     "configurable limit (llhttp counts bytes only)", portico_refused(["431 too many header fields"])),
    ("the request line is at most 8 KiB", "RFC 9112 3: a server that receives a request-target longer than any URI it "
     "wishes to parse MUST respond 414", portico_refused(["414 "])),
    ("CONNECT is not served", "RFC 9110 9.3.6: CONNECT asks for a tunnel to the target; a reverse proxy is no "
     "forward proxy, and answers 405", portico_refused(["405 CONNECT is not supported"])),
    ("request targets are origin-form, absolute-form, or * for OPTIONS", "RFC 9112 3.2: the four forms (asterisk-form "
     "only with OPTIONS, 3.2.4; no fragment, which RFC 9110 4.2.5 keeps out of requests; percent-encoding is % "
     "HEXDIG HEXDIG, RFC 3986 2.1)", portico_refused(["400 invalid request target"])),
    ("HTTP/1.x only", "RFC 9110 15.6.6: 505 for a major version the server does not support (and HTTP/0.9, which has "
     "no version field)", portico_refused(["505 "])),
    ("expectations other than 100-continue", "RFC 9110 10.1.1: a server that receives an Expect value it does not "
     "understand MAY respond 417", portico_refused(["417 "])),
    # --- Portico reads what llhttp refuses
    ("methods are extensible", "RFC 9110 9.1: method = token, case-sensitive, and 16.1 lets new methods in; llhttp "
     "knows a fixed list. The router and plugins decide what a method may do",
     node_refused({"HPE_INVALID_METHOD"}, method_beyond_llhttp)),
    ("identical repeated Content-Length values are one", "RFC 9110 8.6: a recipient MAY treat a field of identical "
     "repeated values as one value (RFC 9112 6.3 item 5 refuses only differing ones)",
     node_refused({"HPE_UNEXPECTED_CONTENT_LENGTH"}, repeated_identical_content_length)),
    ("whitespace around Transfer-Encoding is not its value", "RFC 9110 5.5: a field value excludes leading and "
     "trailing whitespace",
     node_refused({"HPE_INVALID_TRANSFER_ENCODING", "HPE_INVALID_CONTENT_LENGTH"}, framing_value_with_whitespace)),
    ("trailer fields are not header fields", "RFC 9110 6.5.1: trailer fields are processed apart from the header "
     "section (Portico drops them, except a gRPC answer's); a Transfer-Encoding there frames nothing",
     node_refused({"HPE_INVALID_TRANSFER_ENCODING", "HPE_UNEXPECTED_CONTENT_LENGTH", "HPE_INVALID_CONTENT_LENGTH"},
                  field_in_trailers)),
    ("BWS in chunk extensions", "RFC 9112 7.1.1: chunk-ext = *( BWS \";\" BWS chunk-ext-name [ BWS \"=\" BWS "
     "chunk-ext-val ] )", node_refused({"HPE_INVALID_CHUNK_SIZE", "HPE_STRICT"}, bws_in_chunk_line)),
    ("higher HTTP/1 minor versions are read as HTTP/1.1", "RFC 9110 2.5: a recipient SHOULD process a higher minor "
     "version as the highest minor version it supports", node_refused({"HPE_INVALID_VERSION"}, higher_minor_version)),
    ("Content-Length has at most 19 digits", "RFC 9110 8.6: a recipient MUST anticipate large numerals and prevent "
     "integer overflows; 19 digits hold every length Portico can forward (leading zeros count)", long_content_length),
    # --- both read it, differently
    ("only WebSocket upgrades", "RFC 9110 7.8: a server MAY ignore Upgrade; Portico tunnels WebSocket handshakes "
     "only (other upgrades, h2c among them, are served as HTTP/1.1 and the connection reads on)", upgrade_ignored),
    ("a line is judged when it is whole", "RFC 9112 2.2: a message is a sequence of lines; Portico reads a line to "
     "its end before refusing it, llhttp refuses at the first bad byte: both refuse the line, at different times",
     judged_at_line_end),
]


def summary(result):
    """One line: how the stream ended and each request read (method, target, headers, body)."""
    return "%s%s %s" % (result["outcome"], " (%s)" % result["error"] if result["error"] else "", json.dumps(
        [[m["method"], m["target"][:60], m["headers"][:6], m["body"][:40]] + (["upgrade"] if m["upgrade"] else [])
         for m in result["messages"]]))


def run(cmd, cases):
    proc = subprocess.run(cmd, input=json.dumps(corpus.as_json(cases)).encode(), capture_output=True, timeout=600)
    if proc.returncode != 0:
        sys.stderr.write("%s failed (%d): %s\n" % (cmd[0], proc.returncode, proc.stderr.decode(errors="replace")))
        sys.exit(2)
    return {r["name"]: r for r in json.loads(proc.stdout)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runner", required=True)
    ap.add_argument("--oracle-cmd", default="node " + shlex.quote(os.path.join(HERE, "oracle.js")))
    ap.add_argument("--mutations", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show", type=int, default=20, help="unexplained disagreements printed in full")
    ap.add_argument("--report", help="write every disagreement (explained or not) here as JSON")
    args = ap.parse_args()

    fixed = corpus.fixed_cases()
    names = [n for n, _ in fixed]
    dup = [n for n, c in collections.Counter(names).items() if c > 1]
    if dup:
        sys.stderr.write("duplicate case names: %s\n" % dup)
        return 2
    cases = fixed + corpus.mutated_cases(fixed, args.mutations, args.seed)
    data = dict(cases)
    portico = run([args.runner], cases)
    node = run(shlex.split(args.oracle_cmd) + [str(MAX_HEAD)], cases)

    agreed = 0
    explained = collections.Counter()
    explained_fixed = set()
    unexplained = []
    report = []
    for name, bytes_ in cases:
        p, n = portico[name], node[name]
        if agree(p, n):
            agreed += 1
            continue
        reason = next((d[0] for d in DIFFERENCES if d[2](bytes_, p, n)), None)
        report.append({"name": name, "bytes": bytes_.decode("latin-1"), "explained_by": reason, "portico": p, "node": n})
        if reason is None:
            unexplained.append((name, bytes_, p, n))
        else:
            explained[reason] += 1
            if name in data and not name.startswith("mutation "):
                explained_fixed.add(reason)

    print("http differential: %d cases (%d fixed, %d mutations, seed %d): %d agree, %d differ as documented, "
          "%d differ unexplained" % (len(cases), len(fixed), args.mutations, args.seed, agreed,
                                     sum(explained.values()), len(unexplained)))
    for name, rfc, _ in DIFFERENCES:
        print("  %5d  %s (%s)" % (explained[name], name, rfc))
    stale = [d[0] for d in DIFFERENCES if d[0] not in explained_fixed]
    for name in stale:
        print("stale difference (explains no fixed case): %s" % name)
    for name, bytes_, p, n in unexplained[:args.show]:
        print("\n--- %s\n  bytes:   %r\n  portico: %s\n  node:    %s" % (name, bytes_[:300], summary(p), summary(n)))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
