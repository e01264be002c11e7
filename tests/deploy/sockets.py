"""Which processes listen on which TCP addresses, from /proc (Linux), and which processes
belong to the platform (supervisord and everything below it)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's `st` column
PROC = Path("/proc")


@dataclass(frozen=True)
class Listener:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    inode: int

    @property
    def loopback(self) -> bool:
        address = self.address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.is_loopback


def decode_address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The kernel prints each 32-bit word of the address in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)]
    return ipaddress.ip_address(b"".join(words))


def parse_proc_net_tcp(text: str) -> list[Listener]:
    """The listening sockets of one /proc/net/tcp or /proc/net/tcp6 table."""
    listeners = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != LISTEN:
            continue
        hex_address, hex_port = fields[1].split(":")
        listeners.append(Listener(decode_address(hex_address), int(hex_port, 16), int(fields[9])))
    return listeners


def listening_sockets() -> list[Listener]:
    found = []
    for table in ("tcp", "tcp6"):
        path = PROC / "net" / table
        if path.exists():
            found += parse_proc_net_tcp(path.read_text())
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in (PROC / str(pid) / "fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:["):
                inodes.add(int(target[len("socket:[") : -1]))
    except (FileNotFoundError, PermissionError, ProcessLookupError):
        pass  # the process ended meanwhile
    return inodes


def parent_pids() -> dict[int, int]:
    parents = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def process_tree(root: int) -> set[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, parent in parent_pids().items():
        children.setdefault(parent, []).append(pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo += children.get(pid, [])
    return tree


def listeners_of(pids: set[int]) -> dict[Listener, int]:
    """Each listening socket held by one of `pids`, with that pid."""
    by_inode = {listener.inode: listener for listener in listening_sockets()}
    owned = {}
    for pid in pids:
        for inode in socket_inodes(pid) & by_inode.keys():
            owned[by_inode[inode]] = pid
    return owned


def command_line(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
    except OSError:
        return "?"
