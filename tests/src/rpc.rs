//! A minimal JSON-RPC client for the sandbox's loopback address (plain HTTP/1.1, no extra HTTP
//! dependency): the RPC methods near-workspaces does not wrap (`EXPERIMENTAL_tx_status` for
//! per-receipt gas profiles, `next_light_client_block`, `EXPERIMENTAL_validators_ordered`).

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Debug)]
pub struct Rpc {
    addr: String,
}

impl Rpc {
    /// `url` as near-workspaces gives it (`http://127.0.0.1:<port>`).
    pub fn new(url: &str) -> Self {
        Rpc {
            addr: url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string(),
        }
    }

    /// Call `method` with `params`; the `result`, or an error with the node's `error`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value> {
        let payload =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let mut s = tokio::net::TcpStream::connect(&self.addr)
            .await
            .with_context(|| format!("connect {}", self.addr))?;
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            self.addr,
            payload.len()
        );
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        let text = String::from_utf8_lossy(&buf);
        let (head, body) = text.split_once("\r\n\r\n").context("http response")?;
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)?
        } else {
            body.to_string()
        };
        let v: Value = serde_json::from_str(&body).with_context(|| format!("{method}: {body}"))?;
        if let Some(e) = v.get("error") {
            bail!("{method}: {e}");
        }
        v.get("result").cloned().context("no result")
    }
}

fn dechunk(body: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let (size, after) = rest.split_once("\r\n").context("chunk size")?;
        let n = usize::from_str_radix(size.trim(), 16)?;
        if n == 0 {
            return Ok(out);
        }
        out.push_str(after.get(..n).context("chunk")?);
        rest = after.get(n + 2..).context("chunk end")?;
    }
}
