"""Free loopback ports. ctest runs two tests at once, so nothing may use a
fixed port: a random port below the kernel's ephemeral range that binds now."""
import random
import socket


def _ephemeral_low() -> int:
    """The lowest port the kernel hands out for outgoing connections (ip_local_port_range)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now, for a server the test starts next.

    Chosen at random below the kernel's ephemeral range: a port from bind(0) lies inside it, and
    between this call and the server's bind any outgoing connection on the machine (another
    test, another build) may take it as its local port ("Address already in use")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    low = _ephemeral_low()
    for _ in range(50):
        port = random.randint(10000, max(10001, low - 1))
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nothing is bound to right now (datagrams to it are refused)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
