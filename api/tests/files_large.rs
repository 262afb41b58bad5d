//! A 1 GB upload with bounded memory: the multipart body is spooled to a temporary file as it
//! arrives and streamed on to the store, so neither the server nor the store holds it. Alone in
//! its test binary, so the process's peak memory is this upload's.
mod common;

use common::{data, FilePart, TestApp};
use serde_json::json;
use sha2::{Digest, Sha256};

fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .expect("VmHWM")
}

#[tokio::test]
async fn a_one_gigabyte_upload_keeps_memory_bounded() {
    const CHUNK: usize = 1 << 20;
    const CHUNKS: usize = 1024;
    let mut config = common::test_config();
    let dir = std::env::temp_dir().join(format!("atlas-large-{}", uuid::Uuid::now_v7()));
    config.storage_url = dir.to_str().unwrap().to_string();
    let app = TestApp::start_with(config).await;
    let owner = app.user().await;
    let t = app.tenant(&owner).await;
    // Each chunk differs (its index in the first bytes), so the hash checks every byte arrived.
    let chunk = |i: usize| {
        let mut c = vec![b'x'; CHUNK];
        c[..8].copy_from_slice(&(i as u64).to_le_bytes());
        c
    };
    let mut hasher = Sha256::new();
    for i in 0..CHUNKS {
        hasher.update(chunk(i));
    }
    let expected = hex::encode(hasher.finalize());
    let before = peak_rss();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(
        (0..CHUNKS).map(move |i| Ok::<_, std::io::Error>(chunk(i))),
    ));
    let res = app
        .upload(
            &owner,
            t,
            "mutation($file: Upload!) { uploadFile(file: $file) { size sha256 contentType } }",
            json!({}),
            FilePart::new("big.bin", "application/octet-stream", body),
        )
        .await;
    assert_eq!(data(&res, "uploadFile.size"), (CHUNK * CHUNKS) as u64);
    assert_eq!(data(&res, "uploadFile.sha256"), expected.as_str());
    let peak = peak_rss();
    eprintln!("peak RSS before {} MB, after a 1 GB upload {} MB", before >> 20, peak >> 20);
    assert!(peak < before + (128 << 20), "memory grew from {} MB to {} MB", before >> 20, peak >> 20);
    let _ = std::fs::remove_dir_all(dir);
}
