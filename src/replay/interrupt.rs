//! Ctrl-C / SIGTERM during replay: the process's one handler, which knows
//! no engine. Engines that leave something behind on a server (scratch
//! databases, roles, users, throwaway server processes) register a
//! clean-up with [`on_interrupt`]; the handler runs every
//! [`Phase::Drop`] clean-up (the servers still run), then every
//! [`Phase::Stop`] one (the servers twice started are stopped), says so on
//! stderr and exits 130.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

/// When a clean-up runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// While the servers still run: cancel queries, drop scratch databases,
    /// roles and users.
    Drop,
    /// Then: stop the servers this process started and remove their folders.
    Stop,
}

/// A registered clean-up: its key (one registration per key), phase and
/// function.
struct Hook {
    key: &'static str,
    phase: Phase,
    run: fn(),
}

static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());
static HANDLER: Once = Once::new();
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Registers `run` to be called on Ctrl-C / SIGTERM in `phase`, and
/// installs the handler (once). `key` names the clean-up: registering a
/// key again changes nothing, so an engine may call this every time it
/// opens a server.
pub fn on_interrupt(key: &'static str, phase: Phase, run: fn()) {
    {
        let mut hooks = HOOKS.lock().unwrap_or_else(|p| p.into_inner());
        if !hooks.iter().any(|h| h.key == key) {
            hooks.push(Hook { key, phase, run });
        }
    }
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(handle);
    });
}

/// Called by replay between steps: once Ctrl-C was pressed, the handler
/// thread is cleaning up and will end the process (exit 130); the replay
/// thread waits for it instead of carrying on (and exiting on its own).
pub fn wait_if_interrupted() {
    if INTERRUPTED.load(Ordering::SeqCst) {
        loop {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn handle() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let hooks: Vec<(Phase, fn())> = HOOKS
        .lock()
        .map(|g| g.iter().map(|h| (h.phase, h.run)).collect())
        .unwrap_or_default();
    for phase in [Phase::Drop, Phase::Stop] {
        for (p, run) in &hooks {
            if *p == phase {
                run();
            }
        }
    }
    eprintln!("twice: interrupted; scratch databases dropped");
    std::process::exit(130);
}
