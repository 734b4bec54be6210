//! A mail server that keeps what it receives: enough of SMTP (RFC 5321) for the
//! gateway's notifications, for tests and the demo. Every message is kept with its
//! recipients, subject and body (quoted-printable decoded). It offers AUTH PLAIN and
//! takes any login, so a configuration with a mail login runs against it.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::core::record::Log;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub to: Vec<String>,
    /// Headers unfolded.
    pub subject: String,
    /// With quoted-printable decoded.
    pub body: String,
}

/// The running mail server. Cheap to clone.
#[derive(Clone)]
pub struct SmtpSim {
    mails: Log<Mail>,
    port: u16,
}

impl SmtpSim {
    /// Listen on `127.0.0.1:0`.
    pub async fn spawn() -> std::io::Result<Self> {
        Self::spawn_on("127.0.0.1:0".parse().expect("an address")).await
    }

    /// Listen on `addr` (a fixed port, for `deskgate sim --config`).
    pub async fn spawn_on(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let port = listener.local_addr()?.port();
        let mails: Log<Mail> = Log::default();
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, kept.clone()));
            }
        });
        Ok(Self { mails, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.all()
    }

    /// The mails to `address` once there are at least `n` (waits up to ten seconds).
    pub async fn wait_for(&self, address: &str, n: usize) -> Result<Vec<Mail>, String> {
        for _ in 0..400 {
            let found: Vec<Mail> = self.mails().into_iter().filter(|m| m.to.iter().any(|t| t == address)).collect();
            if found.len() >= n {
                return Ok(found);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(format!("no {n} mail(s) to {address}; received: {:#?}", self.mails()))
    }
}

async fn session(socket: tokio::net::TcpStream, mails: Log<Mail>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut to = Vec::new();
    if write.write_all(b"220 sim.test ESMTP\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            // AUTH PLAIN: a relay that wants a login, as production relays do; any
            // login is taken.
            b"250-sim.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            b"235 2.7.0 Authentication successful\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("MAIL FROM:") || upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            let address = line[8..].trim().trim_start_matches('<').split('>').next().unwrap_or("").to_owned();
            to.push(address);
            b"250 OK\r\n"
        } else if upper == "DATA" {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = Vec::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if l == "." {
                    break;
                }
                // Dot-stuffing: a line starting with ".." carries one dot.
                data.push(if l.starts_with("..") { l[1..].to_owned() } else { l });
            }
            mails.push(parse_mail(std::mem::take(&mut to), &data));
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"502 not implemented\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

fn parse_mail(to: Vec<String>, data: &[String]) -> Mail {
    let split = data.iter().position(String::is_empty).unwrap_or(data.len());
    let mut headers: Vec<String> = Vec::new();
    for line in &data[..split] {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                // Unfolding removes the line break only, not the blank.
                last.push_str(line);
                continue;
            }
        }
        headers.push(line.clone());
    }
    let header = |name: &str| {
        headers
            .iter()
            .find_map(|h| {
                h.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let raw = data[(split + 1).min(data.len())..].join("\n");
    let body = if header("Content-Transfer-Encoding").eq_ignore_ascii_case("quoted-printable") {
        decode_qp(&raw)
    } else {
        raw
    };
    Mail { to, subject: header("Subject"), body }
}

fn decode_qp(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(&bytes[i + 1..(i + 3).min(bytes.len())]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_and_folded_headers_are_read() {
        let data: Vec<String> = [
            "Subject: P1 FMK:",
            " prescriptions",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "K=C3=B8benhavn =",
            "02:00",
        ]
        .map(str::to_owned)
        .to_vec();
        let mail = parse_mail(vec!["a@b".into()], &data);
        assert_eq!(mail.subject, "P1 FMK: prescriptions");
        assert_eq!(mail.body, "København 02:00");
    }
}
