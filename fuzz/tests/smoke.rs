//! A bounded fuzzing pass on every target, run by `cargo test --workspace`: seeds first, then
//! mutations, with a fixed seed so a failure reproduces. Longer runs: see docs/RELIABILITY.md.

use skipline_fuzz::{Fuzzer, targets};

#[test]
fn every_target_survives_a_bounded_mutational_run() {
    let iterations: u64 = std::env::var("SKIPLINE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut failures = Vec::new();
    for target in targets() {
        let report = Fuzzer::new(7).run(&target, iterations, None);
        println!(
            "{}: {} executions, {} outcomes, {} crashes",
            target.name,
            report.executions,
            report.outcomes,
            report.crashes.len()
        );
        assert_eq!(report.executions, iterations);
        assert!(
            report.outcomes > 3,
            "{}: the seeds and mutations reach several outcomes",
            target.name
        );
        for c in report.crashes {
            failures.push(format!(
                "{}: {} on input {:?}",
                c.target,
                c.panic,
                String::from_utf8_lossy(&c.input)
            ));
        }
    }
    // The fuzzer's panic hook stays installed, so the assertion's own message would be lost.
    for f in &failures {
        println!("crash: {f}");
    }
    assert!(failures.is_empty(), "crashes:\n{}", failures.join("\n"));
}

#[test]
fn the_seeds_are_accepted_where_they_should_be() {
    // The oracles only bite if valid inputs get through: the first seed of each target is valid.
    for target in targets() {
        let seed = (target.seeds)().remove(0);
        let sig = (target.run)(&seed);
        assert!(
            sig.starts_with("ok") || sig.starts_with("run"),
            "{}: {sig}",
            target.name
        );
    }
}
