# The Python clients' one connection: connected to the socket PATH,
# greeted and negotiated; the socket and its reader, and an fd to send.
import os, socket


def connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile('rb')
    f.readline()
    s.sendall(b'{"execute": "qmp_capabilities"}')
    f.readline()
    return s, f, os.open('/dev/null', os.O_RDONLY)
