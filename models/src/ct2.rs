//! Reader for CTranslate2's `model.bin` (binary version 6).
//!
//! Layout (all little-endian): `u32` version, string spec name, `u32`
//! revision, `u32` variable count, then per variable: string name, `u8` rank,
//! `u32` × rank dims, `u8` dtype, `u32` byte count, raw data; then `u32` alias
//! count and (alias, target) string pairs. A string is a `u16` length that
//! counts a trailing NUL, the UTF-8 bytes, and the NUL.

use std::collections::BTreeMap;
use std::ops::Range;

use half::f16;

use crate::ModelError;

/// CTranslate2's `DataType` ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl DType {
    fn from_id(id: u8) -> Option<DType> {
        Some(match id {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::Bf16,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::Bf16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One variable: its shape, type and where its bytes are.
#[derive(Debug, Clone)]
pub struct Variable {
    pub shape: Vec<usize>,
    pub dtype: DType,
    range: Range<usize>,
}

/// A parsed `model.bin` held in memory.
#[derive(Debug)]
pub struct Ct2Model {
    pub version: u32,
    pub spec: String,
    pub revision: u32,
    data: Vec<u8>,
    pub variables: BTreeMap<String, Variable>,
    pub aliases: BTreeMap<String, String>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(ModelError::Format(format!(
                "model.bin ends early (wanted {n} bytes at offset {})",
                self.pos
            )));
        };
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ModelError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<String, ModelError> {
        let n = usize::from(self.u16()?);
        let b = self.take(n)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        String::from_utf8(b.to_vec())
            .map_err(|_| ModelError::Format("model.bin: a name is not UTF-8".into()))
    }
}

impl Ct2Model {
    /// Parses a whole `model.bin`.
    pub fn parse(data: Vec<u8>) -> Result<Ct2Model, ModelError> {
        let mut c = Cursor {
            data: &data,
            pos: 0,
        };
        let version = c.u32()?;
        if version != 6 {
            return Err(ModelError::Format(format!(
                "CTranslate2 binary version {version} is not supported (expected 6)"
            )));
        }
        let spec = c.string()?;
        let revision = c.u32()?;
        let count = c.u32()?;
        let mut variables = BTreeMap::new();
        for _ in 0..count {
            let name = c.string()?;
            let rank = c.u8()?;
            let mut shape = Vec::with_capacity(usize::from(rank));
            for _ in 0..rank {
                shape.push(c.u32()? as usize);
            }
            let id = c.u8()?;
            let dtype = DType::from_id(id).ok_or_else(|| {
                ModelError::Format(format!("variable {name}: unknown data type {id}"))
            })?;
            let bytes = c.u32()? as usize;
            let n: usize = shape.iter().product();
            if n * dtype.size() != bytes {
                return Err(ModelError::Format(format!(
                    "variable {name}: {bytes} bytes do not match shape {shape:?}"
                )));
            }
            let start = c.pos;
            if start.saturating_add(bytes) > data.len() {
                return Err(ModelError::Format(format!(
                    "model.bin is truncated: variable {} of {count} ({name}, shape {shape:?}) \
                     needs bytes up to {} but the file has {}; a part is missing or incomplete",
                    variables.len() + 1,
                    start.saturating_add(bytes),
                    data.len()
                )));
            }
            c.take(bytes)?;
            variables.insert(
                name,
                Variable {
                    shape,
                    dtype,
                    range: start..start + bytes,
                },
            );
        }
        let mut aliases = BTreeMap::new();
        if c.pos < data.len() {
            let n = c.u32()?;
            for _ in 0..n {
                let alias = c.string()?;
                let target = c.string()?;
                aliases.insert(alias, target);
            }
        }
        Ok(Ct2Model {
            version,
            spec,
            revision,
            data,
            variables,
            aliases,
        })
    }

    /// A variable by name (following aliases).
    pub fn get(&self, name: &str) -> Result<&Variable, ModelError> {
        let name = self.aliases.get(name).map_or(name, String::as_str);
        self.variables
            .get(name)
            .ok_or_else(|| ModelError::Format(format!("model.bin has no variable {name}")))
    }

    /// A variable's values as `f32`.
    pub fn floats(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        let v = self.get(name)?;
        let b = &self.data[v.range.clone()];
        Ok(match v.dtype {
            DType::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DType::F16 => b
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            DType::Bf16 => b
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(ModelError::Format(format!(
                    "variable {name} is {other:?}, not a float tensor"
                )));
            }
        })
    }

    /// A scalar integer variable (e.g. `encoder/num_heads`).
    pub fn scalar_int(&self, name: &str) -> Result<i64, ModelError> {
        let v = self.get(name)?;
        let b = &self.data[v.range.clone()];
        Ok(match (v.dtype, b.len()) {
            (DType::I8, 1) => i64::from(b[0] as i8),
            (DType::I16, 2) => i64::from(i16::from_le_bytes([b[0], b[1]])),
            (DType::I32, 4) => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            _ => {
                return Err(ModelError::Format(format!(
                    "variable {name} is not an integer scalar"
                )));
            }
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Serialises variables the way CTranslate2 does (for tests).
    pub(crate) fn write_ct2(
        vars: &[(&str, Vec<usize>, u8, Vec<u8>)],
        aliases: &[(&str, &str)],
    ) -> Vec<u8> {
        fn s(out: &mut Vec<u8>, v: &str) {
            out.extend_from_slice(&((v.len() + 1) as u16).to_le_bytes());
            out.extend_from_slice(v.as_bytes());
            out.push(0);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&6u32.to_le_bytes());
        s(&mut out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
        for (name, shape, dt, data) in vars {
            s(&mut out, name);
            out.push(shape.len() as u8);
            for d in shape {
                out.extend_from_slice(&(*d as u32).to_le_bytes());
            }
            out.push(*dt);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
        for (a, t) in aliases {
            s(&mut out, a);
            s(&mut out, t);
        }
        out
    }

    #[test]
    fn parses_variables_aliases_and_scalars() {
        let w: Vec<u8> = [1.0f32, -2.5]
            .iter()
            .flat_map(|x| f16::from_f32(*x).to_le_bytes())
            .collect();
        let bytes = write_ct2(
            &[
                ("a/weight", vec![2], 4, w),
                ("a/num_heads", vec![], 2, 8i16.to_le_bytes().to_vec()),
            ],
            &[("b/weight", "a/weight")],
        );
        let m = Ct2Model::parse(bytes).unwrap();
        assert_eq!(m.spec, "WhisperSpec");
        assert_eq!(m.floats("b/weight").unwrap(), vec![1.0, -2.5]);
        assert_eq!(m.scalar_int("a/num_heads").unwrap(), 8);
        assert!(m.get("nope").is_err());
    }

    #[test]
    fn truncated_or_wrong_version_is_an_error_not_a_panic() {
        let bytes = write_ct2(&[("a", vec![4], 0, vec![0; 16])], &[]);
        for cut in [0, 3, 10, 30, bytes.len() - 5] {
            assert!(Ct2Model::parse(bytes[..cut].to_vec()).is_err(), "cut {cut}");
        }
        // Cut inside a variable's data (as when a package set lacks parts):
        // the message says so and names the variable.
        let two = write_ct2(
            &[
                ("a", vec![4], 0, vec![0; 16]),
                ("b/weight", vec![8], 0, vec![0; 32]),
            ],
            &[],
        );
        let err = Ct2Model::parse(two[..two.len() - 20].to_vec())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("truncated") && err.contains("variable 2 of 2 (b/weight"),
            "{err}"
        );
        let mut v5 = bytes.clone();
        v5[0] = 5;
        assert!(Ct2Model::parse(v5).is_err());
    }
}
