#!/usr/bin/env python3
"""Hostile clients against a ledger on 127.0.0.1:PORT (tests/integration/test_hostile.sh).

  hostile_clients.py framing PORT
      raw requests whose framing must be refused from the headers alone; prints one line
      "name status seconds" each.
  hostile_clients.py flood PORT IDLE SLOW READS ACCOUNT
      opens IDLE idle and SLOW slowloris connections (a header byte every 0.5 s) from 127.0.0.2,
      then times READS balance reads of ACCOUNT on one keep-alive connection from 127.0.0.1 while
      they are held, and watches when the server closes the hostile ones. Prints key=value lines:
      opened, closed_at_once (closed within 0.5 s: over the per-address limit), closed_by_3s,
      closed_by_6s, open_at_end, reads_ok, p50_ms, p99_ms.
"""
import http.client
import select
import socket
import sys
import time


def raw(port, data, wait=10.0):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(wait)
    t = time.time()
    s.sendall(data)
    out = b""
    try:
        while b"\r\n" not in out:
            d = s.recv(4096)
            if not d:
                break
            out += d
    except OSError:
        pass
    s.close()
    line = out.split(b"\r\n")[0].split(b" ")
    status = line[1].decode() if len(line) > 1 else "none"
    return status, time.time() - t


def framing(port):
    cases = {
        "duplicate_content_length": b"POST /v1/transfers HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
        "huge_content_length": b"POST /v1/transfers HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 99999999999\r\n\r\nhello",
        "gzip_transfer_encoding": b"POST /v1/transfers HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: gzip\r\n\r\nhello",
        "length_and_chunked": b"POST /v1/transfers HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "identical_content_length": b"POST /v1/admin/none HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    }
    for name, data in cases.items():
        status, secs = raw(port, data)
        print(f"{name} {status} {secs:.3f}")


def flood(port, n_idle, n_slow, reads, account):
    socks = []
    for i in range(n_idle + n_slow):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.2", 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    start = time.time()
    closed_at = {}
    slow = set(socks[n_idle:])
    for s in slow:
        try:
            s.send(b"GET /v1/ledger HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass

    by_fd = {s.fileno(): s for s in socks}

    def poll(timeout=0.0):
        p = select.poll()  # not select(): descriptors above 1024
        for s in socks:
            if s not in closed_at:
                p.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
        for fd, _ in p.poll(timeout * 1000):
            s = by_fd[fd]
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                closed_at[s] = time.time() - start

    time.sleep(0.3)
    poll()
    closed_at_once = len(closed_at)
    # the normal client, while the hostile connections are held
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=("127.0.0.1", 0))
    lat, ok = [], 0
    last_trickle = time.time()
    for i in range(reads):
        t = time.perf_counter()
        c.request("GET", f"/v1/accounts/{account}")
        r = c.getresponse()
        r.read()
        lat.append((time.perf_counter() - t) * 1000)
        ok += r.status == 200
        if time.time() - last_trickle > 0.5:  # slowloris: one more header byte
            last_trickle = time.time()
            for s in slow:
                if s not in closed_at:
                    try:
                        s.send(b"X")
                    except OSError:
                        closed_at[s] = time.time() - start
    lat.sort()
    marks = {}
    while time.time() - start < 6.5:
        poll(0.05)
        for s in slow:
            if s not in closed_at and time.time() - last_trickle > 0.5:
                try:
                    s.send(b"X")
                except OSError:
                    closed_at[s] = time.time() - start
        if time.time() - last_trickle > 0.5:
            last_trickle = time.time()
        for m in (3, 6):
            if m not in marks and time.time() - start >= m:
                marks[m] = len(closed_at)
    print(f"opened={len(socks)}")
    print(f"closed_at_once={closed_at_once}")
    print(f"closed_by_3s={marks.get(3, len(closed_at))}")
    print(f"closed_by_6s={marks.get(6, len(closed_at))}")
    print(f"open_at_end={len(socks) - len(closed_at)}")
    print(f"reads_ok={ok}")
    print(f"p50_ms={lat[len(lat) // 2]:.3f}")
    print(f"p99_ms={lat[int(len(lat) * 0.99) - 1]:.3f}")
    for s in socks:
        s.close()


if __name__ == "__main__":
    if sys.argv[1] == "framing":
        framing(int(sys.argv[2]))
    else:
        flood(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
