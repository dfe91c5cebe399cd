"""A stand-in for a daemon run by another user, for the tests of the clients' daemon-uid check.

Usage: foreign_daemon.py SOCKET LOG. Listens on SOCKET (made 0777), answers a client's first
bytes with an empty HELLO reply (what a real daemon's handshake looks like to a client that does
not look further), and appends every byte it receives to LOG. Prints "ready" once listening.
Standard library only: it runs under `setpriv` as another uid.
"""
import os
import socket
import sys
import threading

HELLO_REPLY = bytes([0xA1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # a HELLO frame with an empty HelloReply


def serve(conn: socket.socket, log: str) -> None:
    answered = False
    conn.settimeout(30)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            with open(log, "ab") as out:
                out.write(data)
            if not answered:
                conn.sendall(HELLO_REPLY)
                answered = True
    except OSError:
        pass
    finally:
        conn.close()


def main() -> None:
    path, log = sys.argv[1], sys.argv[2]
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, log), daemon=True).start()


if __name__ == "__main__":
    main()
