# A client for queries.sh: fills sets 1..SETS (one add-fd each, the fd sent
# with the command in one sendmsg), then sends QUERIES query-fdsets and
# checks that each reply lists SETS sets. Usage: queries.py PATH SETS QUERIES
import array, json, socket, sys
from qmp_client import connect
path, sets, queries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s, f, fd = connect(path)
rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [fd]))]
for i in range(1, sets + 1):
    s.sendmsg([b'{"execute": "add-fd", "arguments": {"fdset-id": %d}}' % i], rights)
    assert f.readline().startswith(b'{"return"')
for _ in range(queries):
    s.sendall(b'{"execute": "query-fdsets"}')
    assert len(json.loads(f.readline())['return']) == sets
