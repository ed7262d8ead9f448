"""Free TCP ports on the loopback interface for the throw-away test servers."""

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port that was free a moment ago.

    The kernel picks it (bind to port 0); there is a small race with other processes
    before the caller binds it, which is acceptable for tests on one machine.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
