//! Pieces the `make bench` programs share: percentiles, the `atlas` binary beside them, child
//! processes that die with the bench, and a small SVG bar chart of Atlas against a peer.
#![allow(dead_code)]
use std::process::Child;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The `p` quantile (0..1) of sorted values (nearest rank).
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `target/<profile>/atlas`, beside `target/<profile>/examples/<bench>`.
pub fn atlas_bin() -> Res<std::path::PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().and_then(|p| p.parent()).ok_or("no target directory")?;
    Ok(dir.join("atlas"))
}

/// The most memory a process has held at once (VmHWM), in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Child processes killed when the bench ends, however it ends.
pub struct Children(pub Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One figure of Atlas and of its peer, for the chart.
pub struct Pair {
    pub label: String,
    pub atlas: f64,
    pub peer: f64,
}

/// A horizontal bar chart: each figure's two bars scaled to the larger of the two.
pub fn svg_pairs(title: &str, peer: &str, pairs: &[Pair]) -> String {
    let row = 46.0;
    let width = 760.0;
    let label_w = 300.0;
    let bar_w = width - label_w - 90.0;
    let height = 50.0 + row * pairs.len() as f64 + 20.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">{title}</text>\n\
         <rect x=\"{label_w}\" y=\"30\" width=\"12\" height=\"10\" fill=\"#2b6cb0\"/><text x=\"{}\" y=\"39\">Atlas</text>\n\
         <rect x=\"{}\" y=\"30\" width=\"12\" height=\"10\" fill=\"#a0aec0\"/><text x=\"{}\" y=\"39\">{peer}</text>\n",
        label_w + 16.0,
        label_w + 70.0,
        label_w + 86.0
    );
    for (i, p) in pairs.iter().enumerate() {
        let y = 50.0 + row * i as f64;
        let max = p.atlas.max(p.peer).max(f64::MIN_POSITIVE);
        s.push_str(&format!("<text x=\"10\" y=\"{}\">{}</text>\n", y + 20.0, p.label));
        for (j, (v, colour)) in [(p.atlas, "#2b6cb0"), (p.peer, "#a0aec0")].iter().enumerate() {
            let yy = y + 4.0 + j as f64 * 18.0;
            let w = (v / max * bar_w).max(1.0);
            s.push_str(&format!(
                "<rect x=\"{label_w}\" y=\"{yy}\" width=\"{w:.1}\" height=\"15\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{}\">{}</text>\n",
                label_w + w + 5.0,
                yy + 12.0,
                fmt(*v)
            ));
        }
    }
    s.push_str("</svg>\n");
    s
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
