//! The Python virtual environments of the tests that run real Python clients and
//! tools, built under the cargo target directory with pinned requirements.

use std::path::{Path, PathBuf};

/// The virtual environment `name` under the target directory with `requirements`
/// installed, built when missing or when its file `stamp.0` does not hold `stamp.1`
/// (what the requirements were when it was built). Panics saying so, `what`
/// first, when Python or PyPI is unavailable.
pub fn venv(name: &str, requirements: &Path, stamp: (&str, &str), what: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let venv = target.join(name);
    let python = venv.join("bin/python");
    let (stamp, built_for) = (venv.join(stamp.0), stamp.1);
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == built_for.trim()) {
        return venv;
    }
    let created = std::process::Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv).output();
    match created {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            panic!(
                "{what}: needs python3 with venv; `python3 -m venv` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        }
        Err(e) => panic!("{what}: needs python3: {e}"),
    }
    let installed = std::process::Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-r"])
        .arg(requirements)
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "{what}: installing from PyPI failed (is PyPI reachable?): {}",
        String::from_utf8_lossy(&installed.stderr)
    );
    std::fs::write(&stamp, built_for).unwrap();
    venv
}
