//! Writer for whisper.cpp's ggml model file, and the CTranslate2 → ggml
//! conversion of a Whisper model.
//!
//! File layout (little-endian `i32` unless said): magic `ggml`; the eleven
//! hyper-parameters (n_vocab, n_audio_ctx, n_audio_state, n_audio_head,
//! n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer,
//! n_mels, ftype); the mel filterbank (n_mel, n_fft, then n_mel × n_fft
//! `f32`); the vocabulary (count, then per token a length and raw bytes);
//! then tensors until the end: rank, name length, type (0 = f32, 1 = f16),
//! the dims innermost first, the name, the data in row-major order.

use std::io::Write;

use half::f16;

use crate::ModelError;
use crate::ct2::Ct2Model;

/// Sample rate Whisper models are trained on.
pub const SAMPLE_RATE: u32 = 16_000;
/// FFT size of Whisper's log-mel front end (25 ms at 16 kHz).
pub const N_FFT: usize = 400;

/// Whisper's hyper-parameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HParams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    /// 1 = f16 weights.
    pub ftype: i32,
}

impl HParams {
    fn as_array(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }
}

/// Slaney-style mel filterbank (librosa `mel(sr, n_fft, n_mels)` with
/// `htk=False, norm="slaney"`), as OpenAI's `mel_filters.npz`:
/// `n_mels` rows of `n_fft / 2 + 1` weights.
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<Vec<f32>> {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    let hz_to_mel = |f: f64| {
        if f >= MIN_LOG_HZ {
            min_log_mel + (f / MIN_LOG_HZ).ln() / logstep
        } else {
            f / F_SP
        }
    };
    let mel_to_hz = |m: f64| {
        if m >= min_log_mel {
            MIN_LOG_HZ * (logstep * (m - min_log_mel)).exp()
        } else {
            F_SP * m
        }
    };
    let sr = f64::from(sample_rate);
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * sr / n_fft as f64).collect();
    let max_mel = hz_to_mel(sr / 2.0);
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(max_mel * i as f64 / (n_mels + 1) as f64))
        .collect();
    (0..n_mels)
        .map(|i| {
            let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
            let lo_w = mel_f[i + 1] - mel_f[i];
            let hi_w = mel_f[i + 2] - mel_f[i + 1];
            fft_freqs
                .iter()
                .map(|&f| {
                    let lower = (f - mel_f[i]) / lo_w;
                    let upper = (mel_f[i + 2] - f) / hi_w;
                    (lower.min(upper).max(0.0) * enorm) as f32
                })
                .collect()
        })
        .collect()
}

/// GPT-2's byte-level alphabet reversed: the byte each printable character
/// of a byte-level token stands for.
pub fn byte_decoder() -> std::collections::HashMap<char, u8> {
    let mut map = std::collections::HashMap::with_capacity(256);
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    let mut n = 0u32;
    for b in 0..=255u8 {
        let c = if printable(b) {
            u32::from(b)
        } else {
            n += 1;
            255 + n
        };
        if let Some(c) = char::from_u32(c) {
            map.insert(c, b);
        }
    }
    map
}

/// Decodes one byte-level token (e.g. `Ġhello`) to its raw bytes.
pub fn decode_token(
    token: &str,
    decoder: &std::collections::HashMap<char, u8>,
) -> Result<Vec<u8>, ModelError> {
    token
        .chars()
        .map(|c| {
            decoder.get(&c).copied().ok_or_else(|| {
                ModelError::Format(format!("token {token:?}: {c:?} is not byte-level"))
            })
        })
        .collect()
}

/// The regular (byte-level) tokens of a Hugging Face `tokenizer.json`, in id
/// order, as raw bytes. Stops at the first special token (`<|endoftext|>`).
pub fn vocabulary_from_tokenizer_json(json: &str) -> Result<Vec<Vec<u8>>, ModelError> {
    let v: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| ModelError::Format(format!("tokenizer.json: {e}")))?;
    let vocab = v
        .pointer("/model/vocab")
        .and_then(|v| v.as_object())
        .ok_or_else(|| ModelError::Format("tokenizer.json has no model.vocab".into()))?;
    let mut by_id: Vec<Option<&str>> = vec![None; vocab.len()];
    for (tok, id) in vocab {
        let id = id
            .as_u64()
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < by_id.len())
            .ok_or_else(|| ModelError::Format(format!("tokenizer.json: bad id for {tok:?}")))?;
        by_id[id] = Some(tok);
    }
    let decoder = byte_decoder();
    let mut out = Vec::with_capacity(by_id.len());
    for (id, tok) in by_id.into_iter().enumerate() {
        let tok =
            tok.ok_or_else(|| ModelError::Format(format!("tokenizer.json: no token {id}")))?;
        if tok == "<|endoftext|>" {
            break;
        }
        out.push(decode_token(tok, &decoder)?);
    }
    Ok(out)
}

fn wi32(out: &mut impl Write, v: i32) -> std::io::Result<()> {
    out.write_all(&v.to_le_bytes())
}

/// Writes the header: magic, hyper-parameters, mel filters, vocabulary.
pub fn write_header(
    out: &mut impl Write,
    hp: &HParams,
    filters: &[Vec<f32>],
    vocab: &[Vec<u8>],
) -> Result<(), ModelError> {
    out.write_all(&crate::GGML_MAGIC.to_le_bytes())?;
    for v in hp.as_array() {
        wi32(out, v)?;
    }
    let n_fft = filters.first().map_or(0, Vec::len);
    wi32(out, to_i32(filters.len())?)?;
    wi32(out, to_i32(n_fft)?)?;
    for row in filters {
        for x in row {
            out.write_all(&x.to_le_bytes())?;
        }
    }
    wi32(out, to_i32(vocab.len())?)?;
    for tok in vocab {
        wi32(out, to_i32(tok.len())?)?;
        out.write_all(tok)?;
    }
    Ok(())
}

fn to_i32(n: usize) -> Result<i32, ModelError> {
    i32::try_from(n).map_err(|_| ModelError::Format(format!("{n} does not fit the ggml header")))
}

/// Writes one tensor. `shape` is row-major (outermost first), as in PyTorch.
pub fn write_tensor(
    out: &mut impl Write,
    name: &str,
    shape: &[usize],
    data: &[f32],
    as_f16: bool,
) -> Result<(), ModelError> {
    let n: usize = shape.iter().product();
    if n != data.len() {
        return Err(ModelError::Format(format!(
            "tensor {name}: {} values for shape {shape:?}",
            data.len()
        )));
    }
    wi32(out, to_i32(shape.len())?)?;
    wi32(out, to_i32(name.len())?)?;
    wi32(out, i32::from(as_f16))?;
    for d in shape.iter().rev() {
        wi32(out, to_i32(*d)?)?;
    }
    out.write_all(name.as_bytes())?;
    let mut buf = Vec::with_capacity(data.len() * if as_f16 { 2 } else { 4 });
    if as_f16 {
        for x in data {
            buf.extend_from_slice(&f16::from_f32(*x).to_le_bytes());
        }
    } else {
        for x in data {
            buf.extend_from_slice(&x.to_le_bytes());
        }
    }
    out.write_all(&buf)?;
    Ok(())
}

/// Hyper-parameters read off a CTranslate2 Whisper model's tensor shapes.
pub fn hparams_of(m: &Ct2Model) -> Result<HParams, ModelError> {
    let dim = |name: &str, i: usize| -> Result<i32, ModelError> {
        let v = m.get(name)?;
        let d = v
            .shape
            .get(i)
            .copied()
            .ok_or_else(|| ModelError::Format(format!("{name} has rank {}", v.shape.len())))?;
        to_i32(d)
    };
    let layers = |prefix: &str| {
        (0..)
            .take_while(|i| {
                m.variables
                    .contains_key(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))
            })
            .count()
    };
    let n_audio_state = dim("encoder/position_encodings/encodings", 1)?;
    let n_text_state = dim("decoder/position_encodings/encodings", 1)?;
    let heads = |prefix: &str, state: i32| -> Result<i32, ModelError> {
        match m.scalar_int(&format!("{prefix}/num_heads")) {
            Ok(h) => i32::try_from(h).map_err(|_| ModelError::Format("num_heads".into())),
            Err(_) => Ok(state / 64),
        }
    };
    Ok(HParams {
        n_vocab: dim("decoder/embeddings/weight", 0)?,
        n_audio_ctx: dim("encoder/position_encodings/encodings", 0)?,
        n_audio_state,
        n_audio_head: heads("encoder", n_audio_state)?,
        n_audio_layer: to_i32(layers("encoder"))?,
        n_text_ctx: dim("decoder/position_encodings/encodings", 0)?,
        n_text_state,
        n_text_head: heads("decoder", n_text_state)?,
        n_text_layer: to_i32(layers("decoder"))?,
        n_mels: dim("encoder/conv1/weight", 1)?,
        ftype: 1,
    })
}

/// One whisper.cpp tensor to write: its name, row-major shape and values.
struct Out {
    name: String,
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// Splits a fused projection `[parts × n, cols]` (and its bias) along rows.
fn split_rows(data: &[f32], parts: usize) -> Result<Vec<Vec<f32>>, ModelError> {
    if parts == 0 || !data.len().is_multiple_of(parts) {
        return Err(ModelError::Format(
            "fused tensor does not split evenly".into(),
        ));
    }
    Ok(data
        .chunks(data.len() / parts)
        .map(<[f32]>::to_vec)
        .collect())
}

/// The whisper.cpp tensors of one CTranslate2 Whisper model, in file order,
/// produced one source variable at a time (`emit` writes each).
fn map_tensors(
    m: &Ct2Model,
    hp: &HParams,
    mut emit: impl FnMut(Out) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    let shape = |name: &str| -> Result<Vec<usize>, ModelError> { Ok(m.get(name)?.shape.clone()) };
    let copy = |src: &str, dst: &str, emit: &mut dyn FnMut(Out) -> Result<(), ModelError>| {
        let data = m.floats(src)?;
        emit(Out {
            name: dst.to_string(),
            shape: shape(src)?,
            data,
        })
    };
    let norm = |src: &str, dst: &str, emit: &mut dyn FnMut(Out) -> Result<(), ModelError>| {
        for (a, b) in [("gamma", "weight"), ("beta", "bias")] {
            let s = format!("{src}/{a}");
            emit(Out {
                name: format!("{dst}.{b}"),
                shape: m.get(&s)?.shape.clone(),
                data: m.floats(&s)?,
            })?;
        }
        Ok::<(), ModelError>(())
    };
    let linear = |src: &str, dst: &str, emit: &mut dyn FnMut(Out) -> Result<(), ModelError>| {
        for p in ["weight", "bias"] {
            let s = format!("{src}/{p}");
            emit(Out {
                name: format!("{dst}.{p}"),
                shape: m.get(&s)?.shape.clone(),
                data: m.floats(&s)?,
            })?;
        }
        Ok::<(), ModelError>(())
    };
    // Fused projection → separate whisper.cpp projections; `None` drops a
    // part's bias (Whisper's key projection has none).
    let fused =
        |src: &str, dsts: &[(&str, bool)], emit: &mut dyn FnMut(Out) -> Result<(), ModelError>| {
            let w = format!("{src}/weight");
            let b = format!("{src}/bias");
            let ws = shape(&w)?;
            let parts = dsts.len();
            let rows = ws.first().copied().unwrap_or(0) / parts;
            let cols = ws.get(1).copied().unwrap_or(0);
            let wsplit = split_rows(&m.floats(&w)?, parts)?;
            let bsplit = split_rows(&m.floats(&b)?, parts)?;
            for ((&(dst, has_bias), wd), bd) in dsts.iter().zip(wsplit).zip(bsplit) {
                emit(Out {
                    name: format!("{dst}.weight"),
                    shape: vec![rows, cols],
                    data: wd,
                })?;
                if has_bias {
                    emit(Out {
                        name: format!("{dst}.bias"),
                        shape: vec![rows],
                        data: bd,
                    })?;
                }
            }
            Ok::<(), ModelError>(())
        };

    let e: &mut dyn FnMut(Out) -> Result<(), ModelError> = &mut emit;
    copy(
        "encoder/position_encodings/encodings",
        "encoder.positional_embedding",
        e,
    )?;
    copy("encoder/conv1/weight", "encoder.conv1.weight", e)?;
    copy("encoder/conv1/bias", "encoder.conv1.bias", e)?;
    copy("encoder/conv2/weight", "encoder.conv2.weight", e)?;
    copy("encoder/conv2/bias", "encoder.conv2.bias", e)?;
    for i in 0..hp.n_audio_layer {
        let s = format!("encoder/layer_{i}");
        let d = format!("encoder.blocks.{i}");
        norm(
            &format!("{s}/self_attention/layer_norm"),
            &format!("{d}.attn_ln"),
            e,
        )?;
        fused(
            &format!("{s}/self_attention/linear_0"),
            &[
                (&format!("{d}.attn.query"), true),
                (&format!("{d}.attn.key"), false),
                (&format!("{d}.attn.value"), true),
            ],
            e,
        )?;
        linear(
            &format!("{s}/self_attention/linear_1"),
            &format!("{d}.attn.out"),
            e,
        )?;
        norm(&format!("{s}/ffn/layer_norm"), &format!("{d}.mlp_ln"), e)?;
        linear(&format!("{s}/ffn/linear_0"), &format!("{d}.mlp.0"), e)?;
        linear(&format!("{s}/ffn/linear_1"), &format!("{d}.mlp.2"), e)?;
    }
    norm("encoder/layer_norm", "encoder.ln_post", e)?;

    copy(
        "decoder/position_encodings/encodings",
        "decoder.positional_embedding",
        e,
    )?;
    copy(
        "decoder/embeddings/weight",
        "decoder.token_embedding.weight",
        e,
    )?;
    for i in 0..hp.n_text_layer {
        let s = format!("decoder/layer_{i}");
        let d = format!("decoder.blocks.{i}");
        norm(
            &format!("{s}/self_attention/layer_norm"),
            &format!("{d}.attn_ln"),
            e,
        )?;
        fused(
            &format!("{s}/self_attention/linear_0"),
            &[
                (&format!("{d}.attn.query"), true),
                (&format!("{d}.attn.key"), false),
                (&format!("{d}.attn.value"), true),
            ],
            e,
        )?;
        linear(
            &format!("{s}/self_attention/linear_1"),
            &format!("{d}.attn.out"),
            e,
        )?;
        norm(
            &format!("{s}/attention/layer_norm"),
            &format!("{d}.cross_attn_ln"),
            e,
        )?;
        linear(
            &format!("{s}/attention/linear_0"),
            &format!("{d}.cross_attn.query"),
            e,
        )?;
        fused(
            &format!("{s}/attention/linear_1"),
            &[
                (&format!("{d}.cross_attn.key"), false),
                (&format!("{d}.cross_attn.value"), true),
            ],
            e,
        )?;
        linear(
            &format!("{s}/attention/linear_2"),
            &format!("{d}.cross_attn.out"),
            e,
        )?;
        norm(&format!("{s}/ffn/layer_norm"), &format!("{d}.mlp_ln"), e)?;
        linear(&format!("{s}/ffn/linear_0"), &format!("{d}.mlp.0"), e)?;
        linear(&format!("{s}/ffn/linear_1"), &format!("{d}.mlp.2"), e)?;
    }
    norm("decoder/layer_norm", "decoder.ln", e)?;
    Ok(())
}

/// Whether whisper.cpp stores this tensor as f16 (matrices) or f32 (vectors,
/// conv biases, positional embeddings).
fn stored_as_f16(name: &str, rank: usize) -> bool {
    rank >= 2 && !name.ends_with("positional_embedding")
}

/// Converts a CTranslate2 Whisper model to a whisper.cpp ggml (f16) file.
/// `progress` is called with (tensors written, tensors total).
pub fn convert(
    model: &Ct2Model,
    vocab: &[Vec<u8>],
    out: &mut impl Write,
    mut progress: impl FnMut(usize, usize),
) -> Result<HParams, ModelError> {
    if model.spec != "WhisperSpec" {
        return Err(ModelError::Format(format!(
            "model.bin is a {} model, not Whisper",
            model.spec
        )));
    }
    let hp = hparams_of(model)?;
    let filters = mel_filters(SAMPLE_RATE, N_FFT, usize::try_from(hp.n_mels).unwrap_or(80));
    write_header(out, &hp, &filters, vocab)?;
    let total = 5 + 2 + 2 + 2 + 15 * hp.n_audio_layer as usize + 24 * hp.n_text_layer as usize;
    let mut done = 0;
    map_tensors(model, &hp, |t| {
        let mut shape = t.shape;
        // whisper.cpp's conv biases are [n, 1].
        if t.name.starts_with("encoder.conv") && t.name.ends_with(".bias") {
            shape.push(1);
        }
        let f16 = stored_as_f16(&t.name, shape.len()) && !t.name.ends_with(".bias");
        write_tensor(out, &t.name, &shape, &t.data, f16)?;
        done += 1;
        progress(done, total);
        Ok(())
    })?;
    Ok(hp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_filters_match_openai_values() {
        let f = mel_filters(16_000, 400, 80);
        assert_eq!(f.len(), 80);
        assert!(f.iter().all(|r| r.len() == 201));
        // Values from OpenAI's mel_filters.npz (librosa 0.8, Slaney norm).
        assert!((f[0][1] - 0.024_862_59).abs() < 1e-7, "{}", f[0][1]);
        assert_eq!(f[0][0], 0.0);
        assert_eq!(f[0][2], 0.0);
        // Second filter rises from bin 1 (40 Hz) and peaks near 74.5 Hz.
        assert!((f[1][1] - 0.001_990_9).abs() < 2e-6, "{}", f[1][1]);
        assert!((f[1][2] - 0.022_871_7).abs() < 2e-6, "{}", f[1][2]);
        // Every filter has unit area in Hz (Slaney norm: 2 / width × width / 2).
        for (i, row) in f.iter().enumerate() {
            let area: f32 = row.iter().sum::<f32>() * 40.0;
            assert!((area - 1.0).abs() < 0.12, "filter {i} area {area}");
        }
        // Nothing above Nyquist bin is wasted: the last filter reaches it.
        assert!(f[79][199] > 0.0);
    }

    #[test]
    fn byte_level_tokens_decode_to_raw_bytes() {
        let d = byte_decoder();
        assert_eq!(d.len(), 256);
        assert_eq!(decode_token("Ġhello", &d).unwrap(), b" hello");
        assert_eq!(decode_token("Ċ", &d).unwrap(), b"\n");
        // "你" is E4 BD A0 in UTF-8; GPT-2 spells it "ä½ł".
        assert_eq!(decode_token("ä½ł", &d).unwrap(), "你".as_bytes());
        assert!(decode_token("你", &d).is_err());
    }

    #[test]
    fn vocabulary_stops_at_the_first_special_token() {
        let json = r#"{"model":{"vocab":{"!":0,"Ġa":1,"<|endoftext|>":2,"<|zh|>":3}}}"#;
        let v = vocabulary_from_tokenizer_json(json).unwrap();
        assert_eq!(v, vec![b"!".to_vec(), b" a".to_vec()]);
        assert!(vocabulary_from_tokenizer_json("{}").is_err());
    }

    #[test]
    fn header_and_tensor_bytes_are_laid_out_as_whisper_cpp_reads_them() {
        let hp = HParams {
            n_vocab: 51865,
            n_audio_ctx: 1500,
            n_audio_state: 512,
            n_audio_head: 8,
            n_audio_layer: 6,
            n_text_ctx: 448,
            n_text_state: 512,
            n_text_head: 8,
            n_text_layer: 6,
            n_mels: 80,
            ftype: 1,
        };
        let filters = vec![vec![0.5f32; 3]; 2];
        let mut out = Vec::new();
        write_header(&mut out, &hp, &filters, &[b"a".to_vec(), b" bc".to_vec()]).unwrap();
        let i = |o: usize| i32::from_le_bytes(out[o..o + 4].try_into().unwrap());
        assert_eq!(&out[..4], b"lmgg");
        assert_eq!(i(4), 51865);
        assert_eq!(i(4 * 11), 1); // ftype
        assert_eq!((i(48), i(52)), (2, 3));
        let voc = 56 + 6 * 4;
        assert_eq!(i(voc), 2);
        assert_eq!(i(voc + 4), 1);
        assert_eq!(&out[voc + 8..voc + 9], b"a");
        assert_eq!(out.len(), voc + 4 + 5 + 7);

        let mut t = Vec::new();
        write_tensor(&mut t, "x.weight", &[2, 3], &[1.0; 6], true).unwrap();
        let i = |o: usize| i32::from_le_bytes(t[o..o + 4].try_into().unwrap());
        assert_eq!((i(0), i(4), i(8)), (2, 8, 1));
        assert_eq!((i(12), i(16)), (3, 2)); // innermost first
        assert_eq!(&t[20..28], b"x.weight");
        assert_eq!(t.len(), 28 + 12);
        assert_eq!(&t[28..30], &f16::from_f32(1.0).to_le_bytes());
        assert!(write_tensor(&mut t, "bad", &[2, 2], &[0.0; 3], false).is_err());
    }

    /// A CTranslate2 Whisper model with every tensor the converter reads:
    /// `width` wide, `enc`/`dec` layers, `vocab` tokens, `mels` mel bins;
    /// `enc_heads` stored as `encoder/num_heads` when given (otherwise the
    /// converter derives it from the width). Values count up from a per-tensor
    /// fill so the mapping can be checked.
    fn synthetic_ct2(
        width: usize,
        enc: usize,
        dec: usize,
        vocab: usize,
        mels: usize,
        enc_heads: Option<i16>,
    ) -> Vec<u8> {
        use crate::ct2::tests::write_ct2;
        let f16b = |v: &[f32]| -> Vec<u8> {
            v.iter()
                .flat_map(|x| f16::from_f32(*x).to_le_bytes())
                .collect()
        };
        let s = width;
        let mut vars: Vec<(String, Vec<usize>, u8, Vec<u8>)> = Vec::new();
        let mut add = |n: &str, shape: Vec<usize>, fill: f32| {
            let k: usize = shape.iter().product();
            let vals: Vec<f32> = (0..k).map(|i| fill + i as f32).collect();
            vars.push((n.to_string(), shape, 4, f16b(&vals)));
        };
        add("encoder/position_encodings/encodings", vec![3, s], 0.0);
        add("encoder/conv1/weight", vec![s, mels, 3], 0.0);
        add("encoder/conv1/bias", vec![s], 0.0);
        add("encoder/conv2/weight", vec![s, s, 3], 0.0);
        add("encoder/conv2/bias", vec![s], 0.0);
        add("encoder/layer_norm/gamma", vec![s], 1.0);
        add("encoder/layer_norm/beta", vec![s], 0.0);
        add("decoder/position_encodings/encodings", vec![4, s], 0.0);
        add("decoder/embeddings/weight", vec![vocab, s], 0.0);
        add("decoder/layer_norm/gamma", vec![s], 1.0);
        add("decoder/layer_norm/beta", vec![s], 0.0);
        let sides = (0..enc)
            .map(|i| format!("encoder/layer_{i}"))
            .chain((0..dec).map(|i| format!("decoder/layer_{i}")));
        for side in sides {
            add(
                &format!("{side}/self_attention/layer_norm/gamma"),
                vec![s],
                1.0,
            );
            add(
                &format!("{side}/self_attention/layer_norm/beta"),
                vec![s],
                0.0,
            );
            add(
                &format!("{side}/self_attention/linear_0/weight"),
                vec![3 * s, s],
                100.0,
            );
            add(
                &format!("{side}/self_attention/linear_0/bias"),
                vec![3 * s],
                10.0,
            );
            add(
                &format!("{side}/self_attention/linear_1/weight"),
                vec![s, s],
                0.0,
            );
            add(
                &format!("{side}/self_attention/linear_1/bias"),
                vec![s],
                0.0,
            );
            add(&format!("{side}/ffn/layer_norm/gamma"), vec![s], 1.0);
            add(&format!("{side}/ffn/layer_norm/beta"), vec![s], 0.0);
            add(&format!("{side}/ffn/linear_0/weight"), vec![4 * s, s], 0.0);
            add(&format!("{side}/ffn/linear_0/bias"), vec![4 * s], 0.0);
            add(&format!("{side}/ffn/linear_1/weight"), vec![s, 4 * s], 0.0);
            add(&format!("{side}/ffn/linear_1/bias"), vec![s], 0.0);
        }
        for i in 0..dec {
            let d = format!("decoder/layer_{i}/attention");
            add(&format!("{d}/layer_norm/gamma"), vec![s], 1.0);
            add(&format!("{d}/layer_norm/beta"), vec![s], 0.0);
            add(&format!("{d}/linear_0/weight"), vec![s, s], 0.0);
            add(&format!("{d}/linear_0/bias"), vec![s], 0.0);
            add(&format!("{d}/linear_1/weight"), vec![2 * s, s], 200.0);
            add(&format!("{d}/linear_1/bias"), vec![2 * s], 20.0);
            add(&format!("{d}/linear_2/weight"), vec![s, s], 0.0);
            add(&format!("{d}/linear_2/bias"), vec![s], 0.0);
        }
        if let Some(h) = enc_heads {
            vars.push((
                "encoder/num_heads".into(),
                vec![],
                2,
                h.to_le_bytes().to_vec(),
            ));
        }
        let refs: Vec<(&str, Vec<usize>, u8, Vec<u8>)> = vars
            .iter()
            .map(|(n, s, t, d)| (n.as_str(), s.clone(), *t, d.clone()))
            .collect();
        write_ct2(
            &refs,
            &[("decoder/projection/weight", "decoder/embeddings/weight")],
        )
    }

    #[test]
    fn fused_projections_are_split_and_the_key_bias_dropped() {
        // A one-layer, width-2 model: enough to see the mapping.
        let bytes = synthetic_ct2(2, 1, 1, 10, 4, None);
        let m = Ct2Model::parse(bytes).unwrap();
        let hp = hparams_of(&m).unwrap();
        assert_eq!(
            (hp.n_audio_layer, hp.n_text_layer, hp.n_mels, hp.n_vocab),
            (1, 1, 4, 10)
        );
        let mut got = std::collections::BTreeMap::new();
        map_tensors(&m, &hp, |t| {
            got.insert(t.name.clone(), (t.shape, t.data));
            Ok(())
        })
        .unwrap();
        let q = &got["encoder.blocks.0.attn.query.weight"];
        assert_eq!(q.0, vec![2, 2]);
        assert_eq!(q.1, vec![100.0, 101.0, 102.0, 103.0]);
        assert_eq!(
            got["encoder.blocks.0.attn.key.weight"].1,
            vec![104.0, 105.0, 106.0, 107.0]
        );
        assert_eq!(
            got["encoder.blocks.0.attn.value.weight"].1,
            vec![108.0, 109.0, 110.0, 111.0]
        );
        assert_eq!(got["encoder.blocks.0.attn.value.bias"].1, vec![14.0, 15.0]);
        assert!(!got.contains_key("encoder.blocks.0.attn.key.bias"));
        assert_eq!(
            got["decoder.blocks.0.cross_attn.key.weight"].1,
            vec![200.0, 201.0, 202.0, 203.0]
        );
        assert_eq!(
            got["decoder.blocks.0.cross_attn.value.bias"].1,
            vec![22.0, 23.0]
        );
        assert!(!got.contains_key("decoder.blocks.0.cross_attn.key.bias"));
        assert_eq!(got["encoder.ln_post.weight"].1, vec![1.0, 2.0]);
        // whisper.cpp's tensor count for one layer each: all written once.
        assert_eq!(got.len(), 5 + 2 + 2 + 2 + 15 + 24);
    }

    #[test]
    fn hyper_parameters_follow_the_model_not_whisper_base() {
        // Neither base's shape (512 wide, 6 + 6 layers, 80 mels, 51865
        // tokens) nor symmetric: the header must say what the tensors say,
        // as it must for small (768 wide, 12 + 12 layers, 12 heads).
        let m = Ct2Model::parse(synthetic_ct2(128, 3, 2, 37, 128, Some(4))).unwrap();
        let hp = hparams_of(&m).unwrap();
        assert_eq!(
            hp,
            HParams {
                n_vocab: 37,
                n_audio_ctx: 3,
                n_audio_state: 128,
                n_audio_head: 4, // from encoder/num_heads
                n_audio_layer: 3,
                n_text_ctx: 4,
                n_text_state: 128,
                n_text_head: 2, // none stored: width / 64, as in every Whisper
                n_text_layer: 2,
                n_mels: 128,
                ftype: 1,
            }
        );
        let vocab: Vec<Vec<u8>> = (0..37u8).map(|b| vec![b'a' + b % 26]).collect();
        let mut out = Vec::new();
        let mut last = (0, 0);
        let written = convert(&m, &vocab, &mut out, |done, total| last = (done, total)).unwrap();
        assert_eq!(written, hp);
        let i = |o: usize| i32::from_le_bytes(out[o..o + 4].try_into().unwrap());
        let header: Vec<i32> = (0..11).map(|k| i(4 + 4 * k)).collect();
        assert_eq!(header, hp.as_array().to_vec());
        // The mel filterbank is sized for this model's 128 bins.
        assert_eq!((i(48), i(52)), (128, 201));
        // Every layer of both stacks was written, and nothing more.
        let expected = 5 + 2 + 2 + 2 + 15 * 3 + 24 * 2;
        assert_eq!(last, (expected, expected));
        let mut pos = 56 + 128 * 201 * 4;
        let n_vocab = i(pos);
        pos += 4;
        for _ in 0..n_vocab {
            pos += 4 + usize::try_from(i(pos)).unwrap();
        }
        let mut names = Vec::new();
        while pos < out.len() {
            let (rank, len, ty) = (i(pos), i(pos + 4), i(pos + 8));
            let dims: Vec<usize> = (0..rank)
                .map(|k| usize::try_from(i(pos + 12 + 4 * usize::try_from(k).unwrap())).unwrap())
                .collect();
            pos += 12 + 4 * dims.len();
            let name =
                String::from_utf8(out[pos..pos + usize::try_from(len).unwrap()].to_vec()).unwrap();
            pos += name.len();
            pos += dims.iter().product::<usize>() * if ty == 1 { 2 } else { 4 };
            names.push((name, dims));
        }
        assert_eq!(pos, out.len());
        assert_eq!(names.len(), expected);
        assert!(names.contains(&("encoder.blocks.2.mlp.0.weight".into(), vec![128, 512])));
        assert!(names.contains(&(
            "decoder.blocks.1.cross_attn.value.weight".into(),
            vec![128, 128]
        )));
        assert!(
            !names
                .iter()
                .any(|(n, _)| n.starts_with("encoder.blocks.3."))
        );
        assert!(names.contains(&("encoder.conv1.weight".into(), vec![3, 128, 128])));
    }
}
