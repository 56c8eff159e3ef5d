//! The shim's own memory: a lock-free allocator on memory mapped with
//! `mmap`, the global allocator of this library (spec section 6: open and
//! close of sets are async-signal-safe; a signal handler that interrupted
//! the program inside `malloc` and then opens a set must not hang).
//!
//! glibc's `malloc` takes a lock per arena. A handler that interrupts a
//! thread holding it, then calls something that allocates from the same
//! arena, waits for ever; so does a thread that holds the shim's registry
//! lock and waits for that arena while the handler waits for the registry.
//! Every allocation of the shim's Rust code (the registry's tables, log
//! lines, the QMP thread's buffers) comes from here instead, and nothing
//! here ever waits: each operation is a compare-exchange loop, so a signal
//! handler (or a `vfork` child, or a `siglongjmp` out of a handler) that
//! interrupts one in the middle leaves nothing half done, and the child of
//! a fork finds it consistent. The program's own `malloc` is untouched.
//!
//! Blocks of 16 B to 256 KiB come in power-of-two size classes, carved a
//! page at a time from one reserved region, made writable 1 MiB at a time
//! (pages are touched only when used); a freed block goes back to its
//! class's free list, a Treiber stack whose head carries a 32-bit tag
//! against ABA. Larger blocks are mappings of their own.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

const PAGE: usize = 4096;
const CHUNK_SHIFT: u32 = 20;
const CHUNK: usize = 1 << CHUNK_SHIFT;
/// Block numbers are counted in units of the smallest class.
const MIN_SHIFT: u32 = 4;
/// Classes 16 B (0) ... 256 KiB (14).
const CLASSES: usize = 15;
const MAX_SMALL: usize = 1 << (MIN_SHIFT as usize + CLASSES - 1);
/// The address space reserved for small blocks, tried largest first (a
/// program may run under a low RLIMIT_AS). Reserved as PROT_NONE, it costs
/// neither memory nor commit charge; chunks are made writable as needed.
const REGION_SHIFTS: [u32; 7] = [32, 31, 30, 29, 28, 27, 26];

/// The reserved region: its base, with log2 of its size in the low bits
/// (the base is page-aligned). 0: not reserved yet.
static REGION: AtomicUsize = AtomicUsize::new(0);
/// How much of the region has been handed out (page multiples), and how
/// much of it is writable (chunk multiples).
static BUMP: AtomicUsize = AtomicUsize::new(0);
static COMMITTED: AtomicUsize = AtomicUsize::new(0);

/// Per class: the free list's head, `tag << 32 | (block number + 1)` (0 in
/// the low half: empty).
static FREE: [AtomicU64; CLASSES] = [const { AtomicU64::new(0) }; CLASSES];

fn class_of(size: usize) -> usize {
    let size = size.max(1 << MIN_SHIFT);
    (usize::BITS - (size - 1).leading_zeros() - MIN_SHIFT) as usize
}

fn class_size(class: usize) -> usize {
    1 << (class as u32 + MIN_SHIFT)
}

fn map(len: usize, prot: libc::c_int) -> *mut u8 {
    // SAFETY: an anonymous private mapping; no memory of anyone's is touched.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

fn unmap(p: *mut u8, len: usize) {
    // SAFETY: `p..p+len` is a mapping made by `map` (or a page-aligned part
    // of one) that nothing uses any more.
    unsafe { libc::munmap(p.cast(), len) };
}

/// The region's base and its size in chunks, reserving it on first use.
fn region() -> Option<(usize, usize)> {
    let mut r = REGION.load(Ordering::Acquire);
    if r == 0 {
        for shift in REGION_SHIFTS {
            let p = map(1 << shift, libc::PROT_NONE);
            if p.is_null() {
                continue;
            }
            let mine = p as usize | shift as usize;
            r = match REGION.compare_exchange(0, mine, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => mine,
                Err(theirs) => {
                    unmap(p, 1 << shift);
                    theirs
                }
            };
            break;
        }
        if r == 0 {
            return None;
        }
    }
    let shift = r & (PAGE - 1);
    Some((r & !(PAGE - 1), 1 << (shift - CHUNK_SHIFT as usize)))
}

/// `len` bytes (a page multiple) of the region, writable: their offset.
/// Handed out densely, so that the shim's memory spans few pages (a fork
/// copies the page tables of what is touched).
fn bump(len: usize) -> Option<usize> {
    let (base, chunks) = region()?;
    let total = chunks << CHUNK_SHIFT;
    let start = BUMP.fetch_add(len, Ordering::AcqRel);
    let end = start.checked_add(len).filter(|&e| e <= total)?;
    loop {
        let done = COMMITTED.load(Ordering::Acquire);
        if done >= end {
            return Some(start);
        }
        let upto = end.next_multiple_of(CHUNK).min(total);
        // SAFETY: done..upto lies inside the reserved region, which is
        // ours; making a part writable twice (a racing caller) is harmless.
        let r = unsafe {
            libc::mprotect(
                (base + done) as *mut libc::c_void,
                upto - done,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if r != 0 {
            return None;
        }
        let _ = COMMITTED.compare_exchange(done, upto, Ordering::AcqRel, Ordering::Acquire);
    }
}

fn region_base() -> usize {
    REGION.load(Ordering::Acquire) & !(PAGE - 1)
}

/// The address of block `number` (units of 16 bytes from the region's base).
fn block_addr(number: u32) -> *mut u8 {
    (region_base() + ((number as usize) << MIN_SHIFT)) as *mut u8
}

/// The number of the block at `p`.
fn block_number(p: *mut u8) -> u32 {
    ((p as usize - region_base()) >> MIN_SHIFT) as u32
}

/// The link word at the start of a free block.
fn link(p: *mut u8) -> &'static AtomicU32 {
    // SAFETY: p is a block of at least 16 bytes, aligned to 16, inside a
    // chunk that is never unmapped; while the block is on a free list its
    // first word is the link, only ever accessed atomically.
    unsafe { &*(p as *const AtomicU32) }
}

fn pop(class: usize) -> *mut u8 {
    let head = &FREE[class];
    let mut cur = head.load(Ordering::Acquire);
    loop {
        let first = cur as u32;
        if first == 0 {
            return std::ptr::null_mut();
        }
        let p = block_addr(first - 1);
        // A block another thread popped meanwhile may already hold its new
        // owner's data: this read then returns garbage, and the exchange
        // below fails, because every change of the head moves its tag.
        let next = link(p).load(Ordering::Acquire);
        let tag = (cur >> 32).wrapping_add(1);
        match head.compare_exchange_weak(
            cur,
            tag << 32 | next as u64,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => return p,
            Err(now) => cur = now,
        }
    }
}

fn push(class: usize, p: *mut u8, number: u32) {
    let head = &FREE[class];
    let mut cur = head.load(Ordering::Acquire);
    loop {
        link(p).store(cur as u32, Ordering::Release);
        let tag = (cur >> 32).wrapping_add(1);
        match head.compare_exchange_weak(
            cur,
            tag << 32 | (number as u64 + 1),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => return,
            Err(now) => cur = now,
        }
    }
}

/// A block of a class whose free list is empty: a fresh page (or, from
/// 4 KiB up, one block) of the region; the page's other blocks go on the
/// list. Every piece handed out is a page multiple at a page boundary, so
/// each block is aligned to its size up to a page.
fn carve(class: usize) -> *mut u8 {
    let size = class_size(class);
    let batch = size.max(PAGE);
    let Some(start) = bump(batch) else {
        return std::ptr::null_mut();
    };
    let p = (region_base() + start) as *mut u8;
    let mut off = size;
    while off < batch {
        // SAFETY: inside the batch just handed out.
        let q = unsafe { p.add(off) };
        push(class, q, block_number(q));
        off += size;
    }
    p
}

/// A mapping of its own for a large block, aligned to `align` (>= a page).
fn alloc_large(size: usize, align: usize) -> *mut u8 {
    let len = size.div_ceil(PAGE) * PAGE;
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    if align <= PAGE {
        return map(len, rw);
    }
    let p = map(len + align, rw);
    if p.is_null() {
        return p;
    }
    let start = (p as usize).next_multiple_of(align);
    let head = start - p as usize;
    if head > 0 {
        unmap(p, head);
    }
    let tail = align - head;
    if tail > 0 {
        unmap((start + len) as *mut u8, tail);
    }
    start as *mut u8
}

fn large(layout: &Layout) -> bool {
    layout.size().max(layout.align()) > MAX_SMALL || layout.align() > PAGE
}

pub struct ShimAlloc;

// SAFETY: every block handed out is at least `layout.size()` bytes, aligned
// to `layout.align()` (class sizes are powers of two carved at multiples of
// themselves from page-aligned chunks; larger ones are page-aligned or
// aligned mappings), and is handed out again only after `dealloc`.
unsafe impl GlobalAlloc for ShimAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if large(&layout) {
            return alloc_large(layout.size(), layout.align());
        }
        let class = class_of(layout.size().max(layout.align()));
        let p = pop(class);
        if p.is_null() { carve(class) } else { p }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if large(&layout) {
            // Fresh anonymous mappings are zero already.
            return alloc_large(layout.size(), layout.align());
        }
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { self.alloc(layout) };
        if !p.is_null() {
            // SAFETY: p is a block of at least layout.size() bytes.
            unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if large(&layout) {
            let len = layout.size().div_ceil(PAGE) * PAGE;
            unmap(p, len);
            return;
        }
        let class = class_of(layout.size().max(layout.align()));
        push(class, p, block_number(p));
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the contract of realloc: new_size rounded to the alignment
        // does not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !large(&layout) && !large(&new_layout) {
            let class = class_of(layout.size().max(layout.align()));
            if class == class_of(new_size.max(layout.align())) {
                return p;
            }
        }
        if large(&layout) && large(&new_layout) && layout.align() <= PAGE {
            let old_len = layout.size().div_ceil(PAGE) * PAGE;
            let new_len = new_size.div_ceil(PAGE) * PAGE;
            // SAFETY: p..p+old_len is our own mapping; MREMAP_MAYMOVE keeps
            // its contents.
            let q = unsafe { libc::mremap(p.cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
            return if q == libc::MAP_FAILED {
                std::ptr::null_mut()
            } else {
                q.cast()
            };
        }
        // SAFETY: a valid layout (checked by the caller's contract).
        let q = unsafe { self.alloc(new_layout) };
        if !q.is_null() {
            // SAFETY: both blocks hold at least the smaller size; they differ.
            unsafe {
                std::ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                self.dealloc(p, layout);
            }
        }
        q
    }
}

#[global_allocator]
static GLOBAL: ShimAlloc = ShimAlloc;
