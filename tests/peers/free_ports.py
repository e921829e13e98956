"""free_ports.py N: N loopback TCP ports that were free a moment ago, on one line.

They are taken below the kernel's ephemeral range (net.ipv4.ip_local_port_range): a port from
bind(0) comes out of that range, and an outgoing connection elsewhere (cordon to its smart host,
Postfix to its relay) can take it as a source port before the server binds it, which fails the
server with EADDRINUSE. Ports under the range are only ever taken by an explicit bind.
"""
import random
import socket
import sys

n = int(sys.argv[1])
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        start = int(f.read().split()[0])
except OSError:
    start = 32768
low, high = (20000, start) if start > 21000 else (61000, 65000)
ports = []
for port in random.sample(range(low, high), high - low):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    ports.append(port)
    if len(ports) == n:
        break
print(*ports)
