//! The console in a real headless Chromium (Debian's chromium and chromium-driver, driven by
//! Selenium from `tests/support/console_browser.py`) against a real `skipline serve`: an order
//! seen through to "cart cleared" live, its path in the graph, a failing vendor's retries and
//! the replay button, and no browser-console errors. Screenshots go to target/console/.
//! The test command installs Chromium and Selenium; without them this fails and says how.

mod support;

use std::process::Command;
use support::Serve;

#[test]
fn the_console_follows_an_order_live_and_replays_a_dead_letter() {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(tool).exists(),
            "{tool} is missing: ./scripts/test installs it (apt-get install chromium chromium-driver)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        &dir.path().join("data"),
        &["--allow-private-endpoints", "--delivery-schedule", "1s,1s"],
        &dir.path().join("serve.log"),
    );
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
    .arg(&shots);
    let out = support::run_bounded(cmd, std::time::Duration::from_secs(120));
    assert!(
        out.status.success(),
        "the browser test failed:\n{}\n{}\nserve log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        serve.log_tail()
    );
    for page in ["orders", "flow", "vendors", "queues"] {
        let shot = shots.join(format!("{page}.png"));
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
            "no screenshot {}",
            shot.display()
        );
    }
}
