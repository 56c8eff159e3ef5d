//! The real-program cases of Python 3: reading a set (`open`, `os.path`,
//! `pathlib`, a script, `json.tool`, `sqlite3`, `tarfile`, `zipfile`),
//! writing one (`open('w')`, `open('r+b')`), and the path calls around an
//! open (`Path.resolve`, `os.truncate`).

use super::{Case, read, ro, rw, wo};

const PY_READ: &str = "import sys, hashlib\n\
    d = open(sys.argv[1], 'rb').read()\n\
    print(len(d), hashlib.sha256(d).hexdigest())";
const PY_LOOK: &str = "import os, sys, pathlib\n\
    p = sys.argv[1]\n\
    print(os.path.exists(p), os.path.isfile(p), os.path.getsize(p), os.access(p, os.R_OK))\n\
    q = pathlib.Path(p)\n\
    print(q.is_file(), len(q.read_text().splitlines()))";
const PY_SQLITE: &str = "import sqlite3, sys\n\
    c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n\
    print(c.execute('select count(*), sum(a), max(b) from t').fetchone())";
const PY_WRITE: &str = "import sys\nopen(sys.argv[1], 'w').write('written by python\\n')";
const PY_UPDATE: &str = "import sys\n\
    f = open(sys.argv[1], 'r+b')\n\
    head = f.read(6)\n\
    f.seek(0)\n\
    f.write(head.upper() + b'!')\n\
    print(head)";
const PY_RESOLVE: &str = "import sys, pathlib\n\
    print(pathlib.Path(sys.argv[1]).resolve(strict=True))";
const PY_TRUNCATE: &str = "import os, sys\nos.truncate(sys.argv[1], 1000)";

/// The cases, in the order they run.
pub const CASES: &[Case] = &[
    read(
        "python3 open().read()",
        &["python3", "-c", PY_READ, "{set1}"],
        &[ro(1, "random.bin")],
    ),
    read(
        "python3 os.path / pathlib",
        &["python3", "-c", PY_LOOK, "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "python3 script",
        &["python3", "{set1}", "x", "y"],
        &[ro(1, "script.py")],
    ),
    read(
        "python3 -m json.tool",
        &["python3", "-m", "json.tool", "{set1}"],
        &[ro(1, "data.json")],
    ),
    read(
        "python3 sqlite3 (mode=ro)",
        &["python3", "-c", PY_SQLITE, "{set1}"],
        &[ro(1, "db.sqlite")],
    ),
    read(
        "python3 -m tarfile -l",
        &["python3", "-m", "tarfile", "-l", "{set1}"],
        &[ro(1, "files.tar")],
    ),
    read(
        "python3 -m zipfile -l",
        &["python3", "-m", "zipfile", "-l", "{set1}"],
        &[ro(1, "files.zip")],
    ),
    // Writing into a set.
    read(
        "python3 open('w')",
        &["python3", "-c", PY_WRITE, "{set2}"],
        &[wo(2, "text.txt")],
    ),
    read(
        "python3 open('r+b')",
        &["python3", "-c", PY_UPDATE, "{set2}"],
        &[rw(2, "text.txt")],
    ),
    // Spec section 8: the calls around an open (xattrs, readlink, realpath,
    // utimensat, truncate through a member).
    read(
        "python Path.resolve(strict=True)",
        &["python3", "-c", PY_RESOLVE, "{set1}"],
        &[ro(1, "text.txt")],
    ),
    read(
        "python os.truncate (truncate through a member)",
        &["python3", "-c", PY_TRUNCATE, "{set2}"],
        &[rw(2, "random.bin")],
    ),
];
