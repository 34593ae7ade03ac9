//! The console in a real headless Chromium (Debian's chromium and chromium-driver, driven by
//! Selenium from `tests/support/console_browser.py`) against a real `skipline serve`: an order
//! seen through to "cart cleared" live, its path in the graph, a failing vendor's retries and
//! the replay button, and no browser-console errors. Screenshots go to target/console/.
//! The test command installs Chromium and Selenium; without them this fails and says how.

mod support;

use std::process::Command;
use support::Serve;

/// Runs the browser script against a `serve` started with `args`; `mode` picks its scenario.
fn browse(args: &[&str], mode: &[&str]) -> std::path::PathBuf {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is missing: ./scripts/test installs it (apt-get install chromium chromium-driver)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("data"), args, &dir.path().join("serve.log"));
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console");
    std::fs::create_dir_all(&shots).unwrap();
    let python =
        std::env::var("SKIPLINE_PYTHON").unwrap_or_else(|_| format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR")));
    let mut cmd = Command::new(&python);
    cmd.arg(format!(
        "{}/tests/support/console_browser.py",
        env!("CARGO_MANIFEST_DIR")
    ))
    .arg(&serve.base)
    .arg(&shots)
    .args(mode);
    let out = support::run_bounded(cmd, std::time::Duration::from_secs(120));
    assert!(
        out.status.success(),
        "the browser test failed:\n{}\n{}\nserve log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        serve.log_tail()
    );
    shots
}

#[test]
fn the_console_follows_an_order_live_and_replays_a_dead_letter() {
    let shots = browse(&["--allow-private-endpoints", "--delivery-schedule", "1s,1s"], &[]);
    for page in ["orders", "flow", "vendors", "queues"] {
        let shot = shots.join(format!("{page}.png"));
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
            "no screenshot {}",
            shot.display()
        );
    }
}

/// A Parallel of two branches, then a Map over two items, of Pass states only.
const NESTED_FLOW: &str = r#"{"StartAt": "Fan", "States": {
            "Fan": {"Type": "Parallel", "Next": "Prepare", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]},
            "Prepare": {"Type": "Pass", "Result": {"items": [1, 2]}, "Next": "Each"},
            "Each": {"Type": "Map", "ItemsPath": "$.items", "Next": "Done",
                     "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Item",
                                       "States": {"Item": {"Type": "Pass", "End": true}}}},
            "Done": {"Type": "Succeed"}}}"#;

/// A Parallel of two branches, then a Map over two items: drawn as frames around their inner
/// states, with an execution's path highlighted inside them.
#[test]
fn the_console_draws_parallel_and_map_with_their_inner_states() {
    let dir = tempfile::tempdir().unwrap();
    let machine = dir.path().join("nested.asl.json");
    std::fs::write(&machine, NESTED_FLOW).unwrap();
    let shots = browse(&["--state-machine", machine.to_str().unwrap()], &["nested"]);
    assert!(std::fs::metadata(shots.join("flow-nested.png")).is_ok_and(|m| m.len() > 1000));
}
