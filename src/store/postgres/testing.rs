//! A real PostgreSQL for tests: found on this machine, `initdb` into a temporary
//! directory, started on a free port of 127.0.0.1 with its socket in that
//! directory, one database per test, stopped and removed when the handle drops or
//! the test process ends.
//!
//! Self-contained (std only): the library's tests and the integration tests
//! compile this same file. PostgreSQL refuses to run as root: as root, it runs as
//! the `postgres` user. Without PostgreSQL the tests fail saying so, unless
//! `DESKGATE_SKIP_PG=1`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A running PostgreSQL; stopped on drop.
pub struct PgServer {
    pub port: u16,
    bin: PathBuf,
    child: Child,
    /// Closing it (drop, or the test process ending) stops the server.
    stdin: Option<ChildStdin>,
}

/// Whether PostgreSQL tests are to be skipped (`DESKGATE_SKIP_PG=1`).
pub fn skip() -> bool {
    std::env::var("DESKGATE_SKIP_PG").is_ok_and(|v| v == "1")
}

/// Where `initdb` and `postgres` are: on PATH, or under /usr/lib/postgresql/*/bin.
pub fn find_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("initdb"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_owned));
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn is_root() -> bool {
    // The effective uid, without a libc dependency.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// The shell that runs PostgreSQL: initdb, start, wait until it answers, say
/// READY; then wait for standard input to close and stop it, removing its files.
const SCRIPT: &str = r#"
set -u
bin="$1"; port="$2"; hosts="${3:-127.0.0.1}"; clients="${4:-}"
dir=$(mktemp -d /tmp/deskgate-pg.XXXXXX) || { echo "FAILED mktemp"; exit 1; }
if ! "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1; then
  echo "FAILED initdb:"; cat "$dir/initdb.log"; rm -rf "$dir"; exit 1
fi
# Further addresses listened on let these clients in as well (loopback is in already).
if [ -n "$clients" ]; then echo "host all all $clients trust" >>"$dir/data/pg_hba.conf"; fi
"$bin/postgres" -D "$dir/data" -k "$dir" -h "$hosts" -p "$port" -c fsync=off -c max_connections=300 \
  -c shared_buffers=16MB >"$dir/server.log" 2>&1 &
pid=$!
n=0
until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
  n=$((n+1))
  if [ "$n" -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "FAILED postgres did not start:"; cat "$dir/server.log"; kill "$pid" 2>/dev/null; rm -rf "$dir"; exit 1
  fi
  sleep 0.1
done
echo READY
cat >/dev/null
kill -INT "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$dir"
"#;

impl PgServer {
    /// Start a server, or fail the test saying why (PostgreSQL missing, failed to start).
    pub fn start() -> PgServer {
        PgServer::start_on("127.0.0.1", "")
    }

    /// Like [`PgServer::start`], listening on `hosts` (comma-separated addresses)
    /// and letting in `clients` (a CIDR, or nothing) besides the loopback.
    pub fn start_on(hosts: &str, clients: &str) -> PgServer {
        let Some(bin) = find_bin() else {
            panic!(
                "PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql/*/bin): \
                 install it (apt-get install postgresql) or set DESKGATE_SKIP_PG=1 to skip the PostgreSQL tests"
            );
        };
        let port = free_port();
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", SCRIPT, "sh"]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", SCRIPT, "sh"]);
            c
        };
        cmd.arg(&bin)
            .arg(port.to_string())
            .arg(hosts)
            .arg(clients)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // Not in the test's working directory: the postgres user may not read it.
        cmd.current_dir("/");
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting PostgreSQL from {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut said = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_default();
            if line == "READY" {
                let stdin = child.stdin.take();
                return PgServer { port, bin, child, stdin };
            }
            said.push_str(&line);
            said.push('\n');
        }
        let _ = child.wait();
        panic!("PostgreSQL from {} did not start:\n{said}", bin.display());
    }

    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// `postgres://postgres@HOST:PORT/NAME`, for a server listening on `host` too.
    pub fn url_at(&self, host: &str, database: &str) -> String {
        format!("postgres://postgres@{host}:{}/{database}", self.port)
    }

    /// Create `name` (nothing if it exists); returns its URL.
    pub fn database(&self, name: &str) -> String {
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", name])
            .output()
            .expect("createdb runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() || err.contains("already exists"), "createdb {name}: {err}");
        self.url(name)
    }

    /// A new database of its own.
    pub fn fresh_database(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("t{}_{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        self.database(&name)
    }

    /// A database named after `dir`: the same directory names the same database.
    pub fn database_for(&self, dir: &Path) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        dir.hash(&mut h);
        self.database(&format!("d{:016x}", h.finish()))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.wait();
    }
}

/// One server for the whole test process (stopped when the process ends).
pub fn shared() -> &'static PgServer {
    static SERVER: std::sync::OnceLock<PgServer> = std::sync::OnceLock::new();
    SERVER.get_or_init(PgServer::start)
}
