//! The shim's cost per set of `query-fdsets`, every count measured in the
//! same blocks.

use super::*;

/// A program under the shim holding sets 1..=n, one member each, and the
/// folder of its socket.
pub(crate) struct ShimWithSets {
    _program: Program,
    server: Server,
    _dir: TempDir,
}

pub(crate) fn shim_with_sets(n: usize, fd: RawFd) -> ShimWithSets {
    let dir = TempDir::new("bench-qmp-vs-qemu-sets");
    let (mut program, sock) = with_listener(&dir, |_| {});
    let mut client = Client::connect(&sock, &mut program.child);
    for id in 1..=n {
        add_into_new_set(&mut client, id, fd);
    }
    ShimWithSets {
        server: Server {
            name: "shim",
            pid: program.pid(),
            client,
            cold: Vec::new(),
        },
        _program: program,
        _dir: dir,
    }
}

/// The shim's cost per set at each of `counts` (ascending; `main` holds
/// the last), in µs: a `query-fdsets` minus a `query-version`, the two
/// alternated in the same blocks, over the number of sets. A program of
/// its own holds each smaller count, and all of them take their turns in
/// the same blocks, so that the machine's drift over the run hits every
/// count alike. `rounds` of each command per program.
pub(crate) fn per_set_costs(
    main: &mut Server,
    counts: &[usize],
    fd: RawFd,
    rounds: usize,
) -> Vec<(usize, f64)> {
    let (&largest, smaller) = counts.split_last().expect("a count");
    let mut others: Vec<ShimWithSets> = smaller.iter().map(|&n| shim_with_sets(n, fd)).collect();
    let mut turn: Vec<&mut Server> = others.iter_mut().map(|f| &mut f.server).collect();
    turn.push(main);
    let both = measure(
        &mut turn,
        2 * rounds,
        |c| {
            query_fdsets_or_version(c, 0);
            query_fdsets_or_version(c, 1);
        },
        query_fdsets_or_version,
    );
    let half = |s: &Sample, parity: usize| Sample {
        times: s
            .times
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .map(|(_, t)| *t)
            .collect(),
        cpu: 0,
    };
    smaller
        .iter()
        .chain([&largest])
        .zip(&both)
        .map(|(&n, s)| {
            let cost = us(half(s, 0).median()) - us(half(s, 1).median());
            (n, cost / n as f64)
        })
        .collect()
}

/// `query-fdsets` in even rounds, `query-version` in odd ones.
fn query_fdsets_or_version(c: &mut Client, round: usize) {
    let what: &[u8] = if round.is_multiple_of(2) {
        b"{\"execute\": \"query-fdsets\"}"
    } else {
        b"{\"execute\": \"query-version\"}"
    };
    let r = c.cmd(what, None);
    assert!(
        r.starts_with(b"{\"return\""),
        "query-fdsets or query-version"
    );
}

/// `add-fd` of `fd` into the new set `id`.
pub(crate) fn add_into_new_set(c: &mut Client, id: usize, fd: RawFd) {
    let cmd = format!("{{\"execute\": \"add-fd\", \"arguments\": {{\"fdset-id\": {id}}}}}");
    let r = c.cmd(cmd.as_bytes(), Some(fd));
    assert_eq!(
        number_after(r, "fdset-id"),
        Some(id as i64),
        "add-fd: {}",
        String::from_utf8_lossy(r)
    );
}
