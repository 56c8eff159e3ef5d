//! The run: random operations on a registry and on the model side by side,
//! every step's results and the whole visible state compared.
use crate::model::{Expect, MMember, Model};
use fdset_core::registry;
use fdset_testkit::fake_fdops::{Event, FakeFds, Op};
use libc::{
    O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_SYNC, O_TRUNC,
    O_WRONLY,
};
use registry::{ClosedMember, FileKind, MemberInfo, OpenOutcome, Registry};

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

pub struct Run {
    rng: Rng,
    reg: Registry,
    fake: FakeFds,
    pub model: Model,
    opaque_n: u64,
    step: usize,
    seed: u64,
    /// Dups the program closed where no hook saw it (README "Not
    /// supported": fcloseall, closedir of an fdopendir). Their records stay
    /// (and count) until the number comes back from a later open.
    unseen: std::collections::BTreeSet<i32>,
}

const MODES: [i32; 3] = [O_RDONLY, O_WRONLY, O_RDWR];
const SET_IDS: u64 = 6;

impl Run {
    pub fn new(seed: u64, no_control_socket: bool) -> Run {
        let mut reg = Registry::new();
        reg.set_always_in_use(no_control_socket);
        Run {
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            reg,
            fake: FakeFds::new(),
            model: Model {
                no_control_socket,
                ..Model::default()
            },
            opaque_n: 0,
            step: 0,
            seed,
            unseen: Default::default(),
        }
    }

    fn ctx(&self) -> String {
        format!("seed {} step {}", self.seed, self.step)
    }

    fn all_member_fds(&self) -> Vec<i32> {
        self.model
            .sets
            .values()
            .flat_map(|s| s.members.iter().map(|m| m.fd))
            .collect()
    }

    fn all_dups(&self) -> Vec<(u64, i32)> {
        self.model
            .sets
            .iter()
            .flat_map(|(&id, s)| s.dups.iter().map(move |&d| (id, d)))
            .collect()
    }

    /// The dups the program still holds open.
    fn live_dups(&self) -> Vec<(u64, i32)> {
        self.all_dups()
            .into_iter()
            .filter(|d| !self.unseen.contains(&d.1))
            .collect()
    }

    fn add_member(&mut self) {
        if self.unseen.contains(&self.fake.lowest_free()) {
            // A member never lands on a stale dup's number in the shim
            // (members live at >= 100, dups low); keep the model to that.
            return self.open();
        }
        let mode = self.rng.pick(&MODES);
        let mut flags = mode;
        if self.rng.chance(30) {
            flags |= O_DIRECT;
        }
        if self.rng.chance(10) {
            flags |= O_SYNC;
        }
        let regular = self.rng.chance(80);
        let opaque = self.rng.chance(50).then(|| {
            self.opaque_n += 1;
            format!("o{}", self.opaque_n)
        });
        let fd = self.fake.open_file(flags, regular);
        let id = if self.rng.chance(20) {
            None
        } else {
            Some(self.rng.below(SET_IDS))
        };
        let want = id.unwrap_or_else(|| self.model.lowest_free_id());
        let got = self.reg.add_member(
            id,
            fd,
            opaque.clone(),
            MemberInfo {
                status_flags: flags,
                // Known when added (fdset-run's members) or asked at the
                // first open (the shim's): both must behave alike.
                kind: self.rng.chance(50).then_some(if regular {
                    FileKind::Regular
                } else {
                    FileKind::Other
                }),
            },
        );
        assert_eq!(got, want, "{}: add_member id", self.ctx());
        let m = MMember {
            fd,
            opaque,
            removed: false,
            flags,
            regular,
        };
        self.model.sets.entry(want).or_default().members.push(m);
    }

    fn remove(&mut self, whole_set: bool) {
        let id = self.rng.below(SET_IDS + 1);
        let fd = if whole_set {
            None
        } else {
            let members = self.all_member_fds();
            // Mostly a member of some set (maybe another, maybe removed), sometimes any number.
            Some(if !members.is_empty() && self.rng.chance(85) {
                self.rng.pick(&members)
            } else {
                self.rng.below(40) as i32
            })
        };
        let mut want_closed = Vec::new();
        let want = match self.model.sets.get_mut(&id) {
            None => Err(()),
            Some(set) => match fd {
                None => {
                    set.members.iter_mut().for_each(|m| m.removed = true);
                    Ok(())
                }
                Some(fd) => match set.members.iter_mut().find(|m| m.fd == fd && !m.removed) {
                    Some(m) => {
                        m.removed = true;
                        Ok(())
                    }
                    None => Err(()),
                },
            },
        };
        if want.is_ok() {
            self.model.cleanup(id, &mut want_closed);
        }
        let mut closed = Vec::new();
        let got = self
            .reg
            .remove(&mut self.fake, id, fd, &mut closed)
            .map_err(|_| ());
        assert_eq!(got, want, "{}: remove set {id} fd {fd:?}", self.ctx());
        self.check_closed(closed, want_closed);
    }

    fn open(&mut self) {
        let id = self.rng.below(SET_IDS + 1);
        let flags = self.open_flags();
        let injected = self.rng.chance(5).then(|| {
            (
                self.rng.pick(&[Op::Dup, Op::Truncate, Op::Rewind]),
                libc::EMFILE,
            )
        });
        if let Some((op, e)) = injected {
            self.fake.fail_next(op, e);
        }
        let expect = self.model.expect_open(id, flags, injected);
        let mut closed_by_open = Vec::new();
        // Half the opens go through the steps a caller takes when it
        // releases its lock over the system calls: the same rules apply.
        let outcome = if self.rng.chance(50) {
            self.open_in_steps(id, flags, &mut closed_by_open)
        } else {
            self.reg
                .open_with_closed(&mut self.fake, id, flags, &mut closed_by_open)
        };
        self.fake.clear_fail();
        let events = self.fake.take_events();
        let ctx = format!(
            "{}: open set {id} flags {flags:#x} -> {outcome:?}",
            self.ctx()
        );
        match expect {
            Expect::Fail(e) => {
                assert_eq!(outcome.result(), Err(e), "{ctx}");
                assert_eq!(events, vec![], "{ctx}: a refused open touches no fd");
                assert_eq!(closed_by_open, vec![], "{ctx}");
            }
            Expect::FailAfterDup(e) => {
                let seen = Seen {
                    outcome,
                    events,
                    closed: closed_by_open,
                    ctx,
                };
                failed_open_left_nothing(&seen, e);
                let only_the_dup = matches!(
                    seen.events[..],
                    [Event::Dup { to, .. }, Event::Close(c)] if to == c
                );
                assert!(only_the_dup, "{}: {:?}", seen.ctx, seen.events);
            }
            Expect::Dup { set, member, fail } => {
                let seen = Seen {
                    outcome,
                    events,
                    closed: closed_by_open,
                    ctx,
                };
                match fail {
                    Some(e) => failed_open_left_nothing(&seen, e),
                    None => self.check_opened(set, member, flags, seen),
                }
                // The request's status flags reach the shared description once
                // the dup exists (F_SETFL comes before truncation and lseek).
                let setfl_reached = fail.is_none() || !matches!(injected, Some((Op::Dup, _)));
                if setfl_reached {
                    let mm = &mut self.model.sets.get_mut(&set).unwrap().members[member];
                    mm.flags = (mm.flags & !registry::SETFL_MASK) | (flags & registry::SETFL_MASK);
                }
            }
        }
    }

    /// An access mode and random other open flags.
    fn open_flags(&mut self) -> i32 {
        let mut flags = self.rng.pick(&MODES);
        for (bit, percent) in [
            (O_CLOEXEC, 50),
            (O_DIRECT, 30),
            (O_SYNC, 8),
            (O_TRUNC, 10),
            (O_APPEND, 15),
            (O_NONBLOCK, 15),
            (O_CREAT, 10),
            (O_EXCL, 10),
        ] {
            if self.rng.chance(percent) {
                flags |= bit;
            }
        }
        flags
    }

    /// An open the model says succeeds: the member `member` of `set` was
    /// duplicated once, with the effects its flags ask for.
    fn check_opened(&mut self, set: u64, member: usize, flags: i32, mut seen: Seen) {
        let Seen {
            outcome,
            events,
            ctx,
            ..
        } = &seen;
        let m = self.model.sets[&set].members[member].clone();
        let Ok(fd) = outcome.result() else {
            panic!("{ctx}: expected success")
        };
        assert!(
            matches!(outcome, OpenOutcome::Opened { member: mf, .. } if *mf == m.fd),
            "{ctx}: wrong member, want fd {}",
            m.fd
        );
        assert_eq!(
            dups_made(events),
            vec![(m.fd, fd, flags & O_CLOEXEC != 0)],
            "{ctx}: one dup of the member, CLOEXEC as asked"
        );
        self.model.sets.get_mut(&set).unwrap().dups.push(fd);
        let mut want_closed = self.forget_stale_record(fd, set);
        let mut want_fds: Vec<i32> = want_closed.iter().map(|c| c.fd).collect();
        want_fds.sort_unstable();
        assert_eq!(
            FakeFds::closed(events),
            want_fds,
            "{ctx}: members closed by the open"
        );
        seen.closed.sort_by_key(|c| (c.set, c.fd));
        want_closed.sort_by_key(|c| (c.set, c.fd));
        assert_eq!(
            seen.closed, want_closed,
            "{}: members the open reports closed",
            seen.ctx
        );
        let (events, ctx) = (&seen.events, &seen.ctx);
        let truncated = events.contains(&Event::Truncate(fd));
        assert_eq!(
            truncated,
            m.regular && (flags & O_TRUNC != 0 || flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL),
            "{ctx}: truncation (of a regular file)"
        );
        assert_eq!(
            events.contains(&Event::Rewind(fd)),
            m.regular && flags & O_APPEND == 0,
            "{ctx}: rewind"
        );
    }

    /// The new dup `fd` of `set` got a stale dup's number: that record goes,
    /// and its set is cleaned up with the new dup already counted. The
    /// members the model closes.
    fn forget_stale_record(&mut self, fd: i32, set: u64) -> Vec<ClosedMember> {
        let mut want_closed = Vec::new();
        if self.unseen.remove(&fd) {
            let stale_set = self
                .model
                .sets
                .iter_mut()
                .find_map(|(&id, s)| {
                    let pos = s.dups.iter().position(|&d| d == fd)?;
                    // In the new dup's own set, the stale record is the earlier one.
                    (id != set || pos + 1 < s.dups.len()).then(|| {
                        s.dups.remove(pos);
                        id
                    })
                })
                .expect("a stale record");
            self.model.cleanup(stale_set, &mut want_closed);
        }
        want_closed
    }

    /// An open in the steps of `Registry::plan_open` (choose, dup, record,
    /// apply the flags, undo on failure), with nothing else in between.
    fn open_in_steps(
        &mut self,
        id: u64,
        flags: i32,
        closed: &mut Vec<ClosedMember>,
    ) -> OpenOutcome {
        let plan = match self.reg.plan_open(&mut self.fake, id, flags) {
            Ok(plan) => plan,
            Err(refused) => return refused,
        };
        let dup = match plan.dup(&mut self.fake) {
            Ok(fd) => fd,
            Err(e) => return plan.dup_failed(e),
        };
        let d = match self.reg.record_planned(&mut self.fake, &plan, dup, closed) {
            registry::Recorded::Dup(d) => d,
            registry::Recorded::Failed(failed) => return failed,
            registry::Recorded::Again => panic!("{}: no member changed since the plan", self.ctx()),
        };
        match d.apply_flags(&mut self.fake) {
            Ok(()) => d.opened(),
            Err((errno, what)) => self.reg.undo_open(&mut self.fake, &d, errno, what, closed),
        }
    }

    /// The program closes a dup where no hook sees it.
    fn close_unseen(&mut self) {
        let dups = self.live_dups();
        if dups.is_empty() {
            return;
        }
        let (_, fd) = self.rng.pick(&dups);
        self.fake.program_close(fd);
        self.unseen.insert(fd);
    }

    fn close(&mut self) {
        let dups = self.live_dups();
        if dups.is_empty() || self.rng.chance(10) {
            // Not a dup: a member, or the program's own fd, or a closed number.
            let members = self.all_member_fds();
            let fd = if !members.is_empty() && self.rng.chance(50) {
                self.rng.pick(&members)
            } else {
                // Any number that is not a dup: a closed one, -1, or the program's own.
                loop {
                    let fd = self.rng.below(300) as i32 - 1;
                    // (A stale dup's number still has its record.)
                    if !dups.iter().any(|d| d.1 == fd) && !self.unseen.contains(&fd) {
                        break fd;
                    }
                }
            };
            let mut closed = Vec::new();
            assert!(
                !self.reg.forget_dup(&mut self.fake, fd, &mut closed),
                "{}: fd {fd} is not a dup",
                self.ctx()
            );
            assert!(
                closed.is_empty() && self.fake.take_events().is_empty(),
                "{}",
                self.ctx()
            );
            return;
        }
        let (id, fd) = self.rng.pick(&dups);
        self.fake.program_close(fd);
        let set = self.model.sets.get_mut(&id).unwrap();
        let pos = set.dups.iter().position(|&d| d == fd).unwrap();
        set.dups.remove(pos);
        let mut want = Vec::new();
        self.model.cleanup(id, &mut want);
        let mut closed = Vec::new();
        assert!(
            self.reg.forget_dup(&mut self.fake, fd, &mut closed),
            "{}: fd {fd} is a dup",
            self.ctx()
        );
        self.check_closed(closed, want);
    }

    fn monitor(&mut self) {
        if self.model.monitors == 0 || self.rng.chance(45) {
            self.model.monitors += 1;
            self.reg.monitor_connected();
            assert!(self.fake.take_events().is_empty());
            return;
        }
        self.model.monitors -= 1;
        let mut want = Vec::new();
        if self.model.monitors == 0 {
            let ids: Vec<u64> = self.model.sets.keys().copied().collect();
            for id in ids {
                self.model.cleanup(id, &mut want);
            }
        }
        let mut closed = Vec::new();
        self.reg.monitor_disconnected(&mut self.fake, &mut closed);
        self.check_closed(closed, want);
    }

    fn check_closed(&mut self, mut got: Vec<ClosedMember>, mut want: Vec<ClosedMember>) {
        let key = |c: &ClosedMember| (c.set, c.fd);
        got.sort_by_key(key);
        want.sort_by_key(key);
        assert_eq!(got, want, "{}: members closed by this step", self.ctx());
        let fds: Vec<i32> = want
            .iter()
            .map(|c| c.fd)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(
            FakeFds::closed(&self.fake.take_events()),
            fds,
            "{}: fds the fake saw closed",
            self.ctx()
        );
    }

    /// After every step: the whole visible state agrees with the model.
    fn check_state(&self) {
        let ctx = self.ctx();
        let mut want_open: Vec<i32> = self.all_member_fds();
        want_open.extend(self.live_dups().iter().map(|d| d.1));
        want_open.sort_unstable();
        let open: Vec<i32> = self.fake.fds.keys().copied().collect();
        assert_eq!(open, want_open, "{ctx}: open fds");
        assert_eq!(self.reg.query(), self.model.query(), "{ctx}: query");
        let refcounts: Vec<(u64, usize)> = self
            .reg
            .sets()
            .iter()
            .map(|(&id, s)| (id, s.refcount()))
            .collect();
        let want_refcounts: Vec<(u64, usize)> = self
            .model
            .sets
            .iter()
            .map(|(&id, s)| (id, s.dups.len()))
            .collect();
        assert_eq!(refcounts, want_refcounts, "{ctx}: refcounts");
        for (id, d) in self.all_dups() {
            assert_eq!(self.reg.dup_owner(d), Some(id), "{ctx}: owner of dup {d}");
        }
        assert!(
            self.reg.dup_index_consistent(),
            "{ctx}: the dup owner table and the sets' dup lists agree"
        );
        for s in self.model.sets.values() {
            for m in &s.members {
                assert_eq!(
                    self.fake.desc_of(m.fd).status,
                    m.flags,
                    "{ctx}: status flags of member {}",
                    m.fd
                );
            }
        }
    }

    pub fn step_once(&mut self) {
        self.step += 1;
        match self.rng.below(100) {
            // Bounded, so that long runs keep revisiting small states.
            0..=17 if self.all_member_fds().len() < 24 => self.add_member(),
            0..=17 => {
                let whole_set = self.rng.chance(20);
                self.remove(whole_set)
            }
            18..=24 => self.remove(false),
            25..=27 => self.remove(true),
            28..=64 => self.open(),
            65..=90 => self.close(),
            91..=92 => self.close_unseen(),
            _ => self.monitor(),
        }
        self.check_state();
    }
}

/// What an open did: its outcome, the fake's events, the members it
/// reported closed, and the step's context for messages.
struct Seen {
    outcome: OpenOutcome,
    events: Vec<Event>,
    closed: Vec<ClosedMember>,
    ctx: String,
}

/// The dups an open made: (from, to, close-on-exec).
fn dups_made(events: &[Event]) -> Vec<(i32, i32, bool)> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Dup { from, to, cloexec } = *e {
                Some((from, to, cloexec))
            } else {
                None
            }
        })
        .collect()
}

/// An open that failed with `e` after the member was chosen: it closes no
/// member, and any dup it made was closed again.
fn failed_open_left_nothing(seen: &Seen, e: i32) {
    let ctx = &seen.ctx;
    assert_eq!(seen.outcome.result(), Err(e), "{ctx}");
    assert_eq!(seen.closed, vec![], "{ctx}: a failed open closes no member");
    // Nothing left behind: any dup made was closed again.
    assert_eq!(
        FakeFds::closed(&seen.events),
        dups_made(&seen.events)
            .iter()
            .map(|d| d.1)
            .collect::<Vec<_>>(),
        "{ctx}"
    );
}
