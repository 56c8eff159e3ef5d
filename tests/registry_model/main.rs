//! Model-based test of the registry ("long random sequences ...
//! checked after every step against an independent, deliberately simple
//! model of the spec"). The model (model.rs) is written from spec section 2 alone:
//! plain vectors, linear scans, the cleanup rule spelled out literally.
//!
//! Every step is checked: which fds are open (the fake's view), which fds the
//! step closed, refcounts, `query()` output, each open's result and effects.
//! `FDSET_MODEL_STEPS` (default 25000 per seed, 8 seeds) runs longer sequences.
mod model;
mod run;

use run::Run;

fn steps_per_seed() -> usize {
    std::env::var("FDSET_MODEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(25_000)
}

fn run_seeds(seeds: std::ops::RangeInclusive<u64>, no_control_socket: bool) {
    for seed in seeds {
        let mut run = Run::new(seed, no_control_socket);
        for _ in 0..steps_per_seed() {
            run.step_once();
        }
    }
}

/// At least 100,000 operations over several seeds (this test and the
/// next: 8 x 25,000), with monitors.
#[test]
fn registry_matches_model_with_monitors() {
    run_seeds(1..=4, false);
}

/// Spec section 2 "In use": a process without a control socket keeps its
/// sets in use.
#[test]
fn registry_matches_model_without_control_socket() {
    run_seeds(101..=104, true);
}

/// The generator reaches the interesting states (so the test can fail).
#[test]
fn random_sequences_reach_every_rule() {
    let mut run = Run::new(7, false);
    let (mut max_refcount, mut hidden_with_dups, mut idle_closed) = (0, 0, 0);
    for _ in 0..20_000 {
        run.step_once();
        for s in run.model.sets.values() {
            max_refcount = max_refcount.max(s.dups.len());
            if !s.dups.is_empty() && s.members.iter().any(|m| m.removed) {
                hidden_with_dups += 1;
            }
        }
        if run.model.monitors == 0
            && !run.model.sets.is_empty()
            && run.model.sets.values().all(|s| !s.dups.is_empty())
        {
            idle_closed += 1;
        }
    }
    assert!(
        max_refcount >= 3,
        "refcounts above 2 reached: {max_refcount}"
    );
    assert!(
        hidden_with_dups > 100,
        "removed members kept for open dups: {hidden_with_dups}"
    );
    assert!(
        idle_closed > 100,
        "states without monitor where only busy sets survive: {idle_closed}"
    );
}
