//! What a caller's `posix_spawn` file actions do to descriptor numbers
//! (spec section 7: a child must never find another file behind a set than
//! the parent's member). glibc's action list is private, so the shim does
//! not read it: its `posix_spawn_file_actions_*` hooks record, per
//! file-actions object, how many actions were added and which numbers they
//! write (`adddup2`'s new number, `addopen`'s, `addclose`'s, `addclosefrom`'s
//! lower bound). At the spawn the record counts only if it accounts for
//! every action the object holds (its public `__used` count); an object the
//! shim did not see being filled (copied, or filled by a library that
//! bypasses the hooks) is unknown, and then nothing is carried.

use fdset_core::registry::RawFd;
use libc::posix_spawn_file_actions_t;
use spin::mutex::SpinMutex;

/// The numbers a file-actions object's actions write in the child.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    pub fds: Vec<RawFd>,
    /// `addclosefrom_np(low)`: every number from `low` up.
    pub closefrom: Option<RawFd>,
}

impl Targets {
    /// Whether any action writes one of `fds`.
    pub fn hits(&self, fds: impl IntoIterator<Item = RawFd>) -> bool {
        fds.into_iter()
            .any(|fd| self.fds.contains(&fd) || self.closefrom.is_some_and(|low| fd >= low))
    }
}

struct Record {
    object: usize,
    actions: usize,
    targets: Targets,
}

/// Waits by yielding the CPU (as `carry::spawn`'s popen list).
struct YieldRelax;
impl spin::RelaxStrategy for YieldRelax {
    fn relax() {
        // SAFETY: no preconditions.
        unsafe { libc::sched_yield() };
    }
}

static RECORDS: SpinMutex<Vec<Record>, YieldRelax> = SpinMutex::new(Vec::new());

/// glibc's public layout of the object (spawn.h): the count of actions.
#[repr(C)]
struct Layout {
    allocated: libc::c_int,
    used: libc::c_int,
    actions: *mut libc::c_void,
    pad: [libc::c_int; 16],
}

const _: () =
    assert!(std::mem::size_of::<Layout>() == std::mem::size_of::<posix_spawn_file_actions_t>());

/// The number of actions `fa` holds.
///
/// # Safety
/// `fa` points to an initialised file-actions object.
unsafe fn used(fa: *const posix_spawn_file_actions_t) -> usize {
    // SAFETY: per the contract; the layout is glibc's public one.
    unsafe { (*(fa as *const Layout)).used.max(0) as usize }
}

/// `init`: a new, empty object at `fa`.
pub fn initialised(fa: *const posix_spawn_file_actions_t) {
    let mut r = RECORDS.lock();
    r.retain(|rec| rec.object != fa as usize);
    r.push(Record {
        object: fa as usize,
        actions: 0,
        targets: Targets::default(),
    });
}

/// `destroy`: the object is gone.
pub fn destroyed(fa: *const posix_spawn_file_actions_t) {
    RECORDS.lock().retain(|rec| rec.object != fa as usize);
}

/// An action was added to `fa`, writing `target` (or closing from `closefrom`).
///
/// # Safety
/// `fa` points to an initialised file-actions object.
pub unsafe fn added(
    fa: *const posix_spawn_file_actions_t,
    target: Option<RawFd>,
    closefrom: Option<RawFd>,
) {
    let mut r = RECORDS.lock();
    let i = match r.iter().position(|rec| rec.object == fa as usize) {
        Some(i) => i,
        None => {
            // An object the shim did not see initialised (zeroed by hand):
            // known only if this is its first action.
            // SAFETY: per the contract.
            let before = unsafe { used(fa) }.saturating_sub(1);
            r.push(Record {
                object: fa as usize,
                actions: if before == 0 { 0 } else { usize::MAX },
                targets: Targets::default(),
            });
            r.len() - 1
        }
    };
    let rec = &mut r[i];
    rec.actions = rec.actions.saturating_add(1);
    rec.targets.fds.extend(target);
    if let Some(low) = closefrom {
        rec.targets.closefrom = Some(rec.targets.closefrom.map_or(low, |l| l.min(low)));
    }
}

/// The numbers `fa`'s actions write, or `None` when the shim cannot tell
/// (then nothing is carried). NULL: no actions.
///
/// # Safety
/// `fa` is NULL or points to an initialised file-actions object.
pub unsafe fn targets(fa: *const posix_spawn_file_actions_t) -> Option<Targets> {
    if fa.is_null() {
        return Some(Targets::default());
    }
    // SAFETY: per the contract.
    let n = unsafe { used(fa) };
    let r = RECORDS.lock();
    match r.iter().find(|rec| rec.object == fa as usize) {
        Some(rec) if rec.actions == n => Some(rec.targets.clone()),
        Some(_) => None,
        None if n == 0 => Some(Targets::default()),
        None => None,
    }
}
