//! The built-in embedding model: all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions) run in-process
//! with candle on the CPU, from files `scripts/model.sh` takes from PyPI. Sentence embedding as
//! sentence-transformers does it: BERT's uncased WordPiece tokens (at most 256), the encoder,
//! the mean of the token states under the attention mask, then L2 normalisation.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig, DTYPE};
use futures_util::future::BoxFuture;
use unicode_normalization::UnicodeNormalization;

use super::{EmbedError, Embedder};

pub const MODEL: &str = "all-MiniLM-L6-v2";
pub const DIMENSIONS: usize = 384;
/// sentence-transformers' `max_seq_length` for this model; longer texts are truncated.
const MAX_TOKENS: usize = 256;
/// Tokens per forward pass (padded batch × length): bounds the attention's memory.
const TOKENS_PER_PASS: usize = 8192;

pub struct MiniLm {
    inner: Arc<Inner>,
}

struct Inner {
    model: BertModel,
    tokenizer: WordPiece,
}

impl MiniLm {
    /// Loads the weights (memory-mapped), the configuration and the vocabulary from `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let file = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(format!("{} is missing (run scripts/model.sh, or `make assets`)", p.display()))
            }
        };
        let config: BertConfig = serde_json::from_str(
            &std::fs::read_to_string(file("config.json")?).map_err(|e| format!("cannot read config.json: {e}"))?,
        )
        .map_err(|e| format!("config.json is not a BERT configuration: {e}"))?;
        if config.hidden_size != DIMENSIONS {
            return Err(format!(
                "the model in {} has {} dimensions, not {DIMENSIONS}",
                dir.display(),
                config.hidden_size
            ));
        }
        let weights = file("model.safetensors")?;
        // SAFETY: the weights file is only read; it must not be rewritten while Atlas runs
        // (scripts/model.sh never replaces a complete model).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DTYPE, &Device::Cpu) }
            .map_err(|e| format!("cannot map model.safetensors: {e}"))?;
        let model = BertModel::load(vb, &config).map_err(|e| format!("cannot load the model: {e}"))?;
        let vocab = std::fs::read_to_string(file("vocab.txt")?).map_err(|e| format!("cannot read vocab.txt: {e}"))?;
        let tokenizer = WordPiece::new(&vocab)?;
        Ok(Self { inner: Arc::new(Inner { model, tokenizer }) })
    }
}

impl Embedder for MiniLm {
    fn model(&self) -> &str {
        MODEL
    }
    fn dimensions(&self) -> usize {
        DIMENSIONS
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Vec<Vec<f32>>, EmbedError>> {
        let inner = self.inner.clone();
        let texts = texts.to_vec();
        Box::pin(async move {
            // Inference is CPU-bound: off the async threads.
            tokio::task::spawn_blocking(move || inner.embed(&texts))
                .await
                .map_err(|e| EmbedError { message: format!("the embedding task failed: {e}"), transient: false })?
        })
    }
}

impl Inner {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let fail = |e: candle_core::Error| EmbedError { message: format!("local model: {e}"), transient: false };
        let tokens: Vec<Vec<u32>> = texts.iter().map(|t| self.tokenizer.encode(t, MAX_TOKENS)).collect();
        // Similar lengths share a pass, so little of each pass is padding.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| tokens[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        let mut start = 0;
        while start < order.len() {
            // Texts are in ascending length, so the last of a group sets its padded length.
            let mut end = start + 1;
            while end < order.len() && tokens[order[end]].len() * (end - start + 1) <= TOKENS_PER_PASS {
                end += 1;
            }
            let group = &order[start..end];
            let len = tokens[group[group.len() - 1]].len();
            let mut ids = Vec::with_capacity(group.len() * len);
            let mut mask = Vec::with_capacity(group.len() * len);
            for &i in group {
                let t = &tokens[i];
                ids.extend(t.iter().copied().chain(std::iter::repeat_n(0, len - t.len())));
                mask.extend(std::iter::repeat_n(1u32, t.len()).chain(std::iter::repeat_n(0, len - t.len())));
            }
            let shape = (group.len(), len);
            let ids = Tensor::from_vec(ids, shape, &Device::Cpu).map_err(fail)?;
            let mask = Tensor::from_vec(mask, shape, &Device::Cpu).map_err(fail)?;
            let types = ids.zeros_like().map_err(fail)?;
            let states = self.model.forward(&ids, &types, Some(&mask)).map_err(fail)?;
            // Mean over the real tokens only, then unit length.
            let m = mask.to_dtype(DType::F32).map_err(fail)?.unsqueeze(2).map_err(fail)?;
            let summed = states.broadcast_mul(&m).and_then(|s| s.sum(1)).map_err(fail)?;
            let counts = m.sum(1).map_err(fail)?;
            let mean = summed.broadcast_div(&counts).map_err(fail)?;
            let norm = mean.sqr().and_then(|s| s.sum_keepdim(1)).and_then(|s| s.sqrt()).map_err(fail)?;
            let unit = mean.broadcast_div(&norm.clamp(1e-12f32, f32::MAX).map_err(fail)?).map_err(fail)?;
            let rows: Vec<Vec<f32>> = unit.to_vec2().map_err(fail)?;
            for (&i, row) in group.iter().zip(rows) {
                out[i] = row;
            }
            start = end;
        }
        Ok(out)
    }
}

/// BERT's uncased tokenizer (the `BertNormalizer` + `BertPreTokenizer` + `WordPiece` of the
/// model's tokenizer.json): clean, split CJK ideographs, lowercase, strip accents, split on
/// whitespace and punctuation, then greedy longest-match word pieces with `##` continuations.
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    cls: u32,
    sep: u32,
    unk: u32,
}

/// Words longer than this (in characters) become `[UNK]`, as in BERT.
const MAX_WORD_CHARS: usize = 100;

impl WordPiece {
    pub fn new(vocab: &str) -> Result<Self, String> {
        let vocab: HashMap<String, u32> =
            vocab.lines().enumerate().map(|(i, w)| (w.trim_end_matches('\r').to_string(), i as u32)).collect();
        let special = |t: &str| vocab.get(t).copied().ok_or_else(|| format!("vocab.txt has no {t}"));
        Ok(Self { cls: special("[CLS]")?, sep: special("[SEP]")?, unk: special("[UNK]")?, vocab })
    }

    /// `[CLS] pieces… [SEP]`, at most `max` ids.
    pub fn encode(&self, text: &str, max: usize) -> Vec<u32> {
        let mut ids = vec![self.cls];
        'words: for word in basic_tokens(text) {
            for id in self.pieces(&word) {
                if ids.len() + 1 >= max {
                    break 'words;
                }
                ids.push(id);
            }
        }
        ids.push(self.sep);
        ids
    }

    fn pieces(&self, word: &str) -> Vec<u32> {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_WORD_CHARS {
            return vec![self.unk];
        }
        let mut ids = Vec::new();
        let mut start = 0;
        let mut piece = String::new();
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.extend(&chars[start..end]);
                if let Some(&id) = self.vocab.get(&piece) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => ids.push(id),
                None => return vec![self.unk],
            }
            start = end;
        }
        ids
    }
}

/// Normalised words and punctuation marks, in order.
fn basic_tokens(text: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if is_cjk(c) {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else if c.is_whitespace() {
            spaced.push(' ');
        } else {
            spaced.push(c);
        }
    }
    let mut out = Vec::new();
    for word in spaced.split(' ').filter(|w| !w.is_empty()) {
        let lowered: String = word.to_lowercase().nfd().filter(|c| !is_mark(*c)).collect();
        let mut current = String::new();
        for c in lowered.chars() {
            if is_punctuation(c) {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                out.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

/// Control and format characters (tab, newline and carriage return count as whitespace).
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    c.is_control()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Nonspacing marks, which BERT's accent stripping drops after NFD.
fn is_mark(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

/// ASCII non-alphanumerics count as punctuation in BERT, as do Unicode's punctuation blocks.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c,
            '\u{a1}'..='\u{bf}' | '\u{d7}' | '\u{f7}'
            | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205e}'
            | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}' | '\u{3014}'..='\u{301f}'
            | '\u{ff01}'..='\u{ff0f}' | '\u{ff1a}'..='\u{ff20}' | '\u{ff3b}'..='\u{ff40}' | '\u{ff5b}'..='\u{ff65}')
}

/// CJK ideographs, which BERT tokenises one character at a time.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_dir() -> std::path::PathBuf {
        std::env::var("ATLAS_EMBEDDING_MODEL_DIR")
            .map(Into::into)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/models/all-MiniLM-L6-v2"))
    }

    #[test]
    fn tokenizes_like_bert_uncased() {
        let vocab = std::fs::read_to_string(model_dir().join("vocab.txt")).expect("run scripts/model.sh");
        let wp = WordPiece::new(&vocab).unwrap();
        let words = |t: &str| basic_tokens(t);
        assert_eq!(words("Héllo, WORLD!"), ["hello", ",", "world", "!"]);
        assert_eq!(words("a\u{200b}b\tc"), ["ab", "c"]);
        let ids = wp.encode("unaffable tokenization", 256);
        let back: Vec<&str> =
            ids.iter().map(|id| wp.vocab.iter().find(|(_, v)| *v == id).map(|(k, _)| k.as_str()).unwrap()).collect();
        assert_eq!(back, ["[CLS]", "una", "##ffa", "##ble", "token", "##ization", "[SEP]"]);
        assert_eq!(wp.encode(&"word ".repeat(1000), 256).len(), 256);
    }

    /// The similarities sentence-transformers documents for this model and these sentences
    /// (0.6660 and 0.1046): tokenizer, encoder and pooling agree with the reference.
    #[tokio::test]
    async fn matches_the_reference_similarities() {
        let model = MiniLm::load(&model_dir()).expect("run scripts/model.sh");
        let texts: Vec<String> = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
            .map(String::from)
            .to_vec();
        let v = model.embed(&texts).await.unwrap();
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!((dot(&v[0], &v[0]) - 1.0).abs() < 1e-4);
        assert!((dot(&v[0], &v[1]) - 0.6660).abs() < 0.002, "{}", dot(&v[0], &v[1]));
        assert!((dot(&v[0], &v[2]) - 0.1046).abs() < 0.002, "{}", dot(&v[0], &v[2]));
        // A batch gives each text the vector it gets alone (padding is masked out).
        let alone = model.embed(&texts[2..]).await.unwrap();
        assert!(dot(&alone[0], &v[2]) > 0.9999);
    }
}
