#!/usr/bin/env python3
"""The demo lab's "outside world" (runs in the lab's second network namespace).

    outside.py LOG CERT KEY [ADDR | NAME=ADDR]... [--dns ADDR] [--default ADDR]

* HTTP on :80 and HTTPS on :443 (CERT/KEY) on every ADDR (and the --default one). Each request appends one line
  "<addr> <Host header> <path>" to LOG and answers 200 "outside-ok". A check that expects a
  connection to be blocked looks for its unique path in LOG: absent means it never got
  here, whatever the client printed.
* A DNS responder on --dns ADDR:53 (UDP): A queries for a NAME get its ADDR, anything else
  gets --default; each query is logged as "DNS <name>".
* Writes LOG.ready once every socket is bound.
Standard library only; one thread per socket; runs until killed.
"""
import http.server
import socket
import ssl
import struct
import sys
import threading

lock = threading.Lock()


def log(path, line):
    with lock, open(path, "a") as f:
        f.write(line + "\n")


def make_handler(logpath, addr):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            log(logpath, f"{addr} {self.headers.get('Host', '-')} {self.path}")
            body = b"outside-ok\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_HEAD = answer

        def log_message(self, *args):
            pass

    return Handler


def serve_http(logpath, addr, port, ctx):
    srv = http.server.ThreadingHTTPServer((addr, port), make_handler(logpath, addr))
    if ctx is not None:
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def dns_name(data):
    labels, i = [], 12
    while i < len(data) and data[i]:
        labels.append(data[i + 1:i + 1 + data[i]].decode(errors="replace"))
        i += data[i] + 1
    return ".".join(labels).lower(), i


def serve_dns(logpath, addr, names, default):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, 53))

    def loop():
        while True:
            data, client = sock.recvfrom(2048)
            if len(data) < 17:
                continue
            name, end = dns_name(data)
            qtype = struct.unpack("!H", data[end + 1:end + 3])[0]
            log(logpath, f"DNS {name}")
            question = data[12:end + 5]
            answers = b""
            count = 0
            if qtype == 1:  # A; AAAA and others get an empty answer
                ip = names.get(name, default)
                answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) + socket.inet_aton(ip)
                count = 1
            header = data[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, count, 0, 0)
            sock.sendto(header + question + answers, client)

    threading.Thread(target=loop, daemon=True).start()


def main():
    logpath, cert, key = sys.argv[1:4]
    names, addrs, dns, default = {}, [], None, None
    args = sys.argv[4:]
    while args:
        a = args.pop(0)
        if a == "--dns":
            dns = args.pop(0)
        elif a == "--default":
            default = args.pop(0)
        else:
            name, eq, ip = a.partition("=")
            if not eq:
                ip = name
            else:
                names[name.lower()] = ip
            if ip not in addrs:
                addrs.append(ip)
    if default and default not in addrs:
        addrs.append(default)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    for a in addrs:
        serve_http(logpath, a, 80, None)
        serve_http(logpath, a, 443, ctx)
    if dns:
        serve_dns(logpath, dns, names, default or "127.0.0.1")
    open(logpath + ".ready", "w").close()
    threading.Event().wait()


if __name__ == "__main__":
    main()
