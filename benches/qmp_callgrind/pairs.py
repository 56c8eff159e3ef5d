# A client for run.sh: N add-fd+remove-fd pairs on the socket PATH, the fd
# sent with add-fd in one sendmsg. Usage: pairs.py PATH N
import socket, sys, array, re
from qmp_client import connect
path, n = sys.argv[1], int(sys.argv[2])
s, f, fd = connect(path)
for i in range(n):
    s.sendmsg([b'{"execute": "add-fd", "arguments": {"fdset-id": 0}}'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [fd]))])
    r = f.readline()
    m = re.search(rb'"fd": (\d+)', r)
    s.sendall(b'{"execute": "remove-fd", "arguments": {"fdset-id": 0, "fd": %s}}' % m.group(1))
    r2 = f.readline()
    assert r2 == b'{"return": {}}\r\n', r2
print(r.decode().strip())
