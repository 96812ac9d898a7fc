//! Import and export: CSV, XLSX and JSON Lines, with a field mapping so a
//! station's own sheet loads as it is. Import is all-or-nothing: every row is
//! checked first and any problem refuses the whole file.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use calamine::{Data, Reader};

use crate::entry::{Entry, Status};
use crate::error::{ImportError, KbError, Problem};
use crate::text::{clean_html, simplify};

/// A file format for import and export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values, UTF-8, first row is the header.
    Csv,
    /// Excel workbook (first sheet, first row is the header).
    Xlsx,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// `csv`, `xlsx` or `jsonl` (also `json`, `ndjson`).
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// Guesses the format from the file extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::parse)
    }
}

/// A field of [`Entry`] that a column can be mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Entry id.
    Id,
    /// Standard question.
    Question,
    /// Alternative phrasings, `|`-separated.
    Alternatives,
    /// Answer.
    Answer,
    /// Department.
    Department,
    /// Domain.
    Domain,
    /// Service matter.
    Category,
    /// Region.
    Region,
    /// Tags, `|`-separated.
    Tags,
    /// Source.
    Source,
    /// Effective date.
    Effective,
    /// Expiry date.
    Expiry,
    /// Last reviewed date.
    Reviewed,
    /// active / retired.
    Status,
}

impl Field {
    /// Every field, in export column order.
    pub const ALL: [Field; 14] = [
        Field::Id,
        Field::Question,
        Field::Alternatives,
        Field::Answer,
        Field::Department,
        Field::Domain,
        Field::Category,
        Field::Region,
        Field::Tags,
        Field::Source,
        Field::Effective,
        Field::Expiry,
        Field::Reviewed,
        Field::Status,
    ];

    /// The field's name (also its export column).
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Question => "question",
            Field::Alternatives => "alternatives",
            Field::Answer => "answer",
            Field::Department => "department",
            Field::Domain => "domain",
            Field::Category => "category",
            Field::Region => "region",
            Field::Tags => "tags",
            Field::Source => "source",
            Field::Effective => "effective",
            Field::Expiry => "expiry",
            Field::Reviewed => "reviewed",
            Field::Status => "status",
        }
    }

    /// Column names recognised without a mapping.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Id => &["id", "编号", "序号", "问题编号", "条目编号"],
            Field::Question => &["question", "标准问题", "问题", "标准问", "常见问题"],
            Field::Alternatives => &["alternatives", "相似问法", "相似问", "相似问题", "其他问法"],
            Field::Answer => &["answer", "答案", "答复", "回答", "标准答案", "答复内容"],
            Field::Department => &["department", "部门", "责任部门", "主管部门", "承办单位"],
            Field::Domain => &["domain", "领域", "业务领域"],
            Field::Category => &["category", "事项", "分类", "类别", "服务事项"],
            Field::Region => &["region", "地区", "区域", "适用地区"],
            Field::Tags => &["tags", "标签", "关键词"],
            Field::Source => &["source", "来源", "依据", "政策依据"],
            Field::Effective => &["effective", "生效日期", "生效时间"],
            Field::Expiry => &["expiry", "失效日期", "到期日期", "有效期至"],
            Field::Reviewed => &["reviewed", "审核日期", "最后审核", "更新日期"],
            Field::Status => &["status", "状态"],
        }
    }

    /// Parses a field name (English name or a recognised column name).
    pub fn parse(s: &str) -> Option<Field> {
        let s = simplify(s.trim());
        Field::ALL
            .into_iter()
            .find(|f| f.name() == s || f.aliases().contains(&s.as_str()))
    }

    fn required(self) -> bool {
        matches!(self, Field::Question | Field::Answer)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which column feeds which field (`--field question=常見問題`).
#[derive(Debug, Clone, Default)]
pub struct FieldMap {
    columns: Vec<(Field, String)>,
}

impl FieldMap {
    /// Adds `field=COLUMN`.
    pub fn parse_arg(&mut self, arg: &str) -> Result<(), String> {
        let (f, col) = arg
            .split_once('=')
            .ok_or_else(|| format!("--field {arg:?}: expected FIELD=COLUMN"))?;
        let field = Field::parse(f).ok_or_else(|| {
            let names: Vec<_> = Field::ALL.iter().map(|f| f.name()).collect();
            format!(
                "--field {arg:?}: unknown field {f:?} (fields: {})",
                names.join(", ")
            )
        })?;
        if col.trim().is_empty() {
            return Err(format!("--field {arg:?}: empty column name"));
        }
        self.columns.retain(|(g, _)| *g != field);
        self.columns.push((field, col.trim().to_string()));
        Ok(())
    }

    /// Builds a map from `FIELD=COLUMN` arguments.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Result<FieldMap, String> {
        let mut m = FieldMap::default();
        for a in args {
            m.parse_arg(a.as_ref())?;
        }
        Ok(m)
    }
}

/// A pair of questions that look alike.
#[derive(Debug, Clone, PartialEq)]
pub struct NearDuplicate {
    /// First entry id.
    pub a: String,
    /// Second entry id.
    pub b: String,
    /// Character-bigram Jaccard similarity of the normalised questions (1.0 = same).
    pub similarity: f32,
}

/// The checked content of an import file.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The entries, in file order.
    pub entries: Vec<Entry>,
    /// Which column fed which field.
    pub mapping: Vec<(Field, String)>,
    /// Same-question pairs (similarity 1) and near-duplicates.
    pub duplicates: Vec<NearDuplicate>,
}

/// Reads and checks `path`; nothing is written. Any problem fails the whole file.
pub fn parse_file(path: &Path, format: Format, map: &FieldMap) -> Result<Parsed, KbError> {
    let table = match format {
        Format::Csv => read_csv(path)?,
        Format::Xlsx => read_xlsx(path)?,
        Format::Jsonl => read_jsonl(path)?,
    };
    let parsed = table_to_entries(path, &table, map)?;
    Ok(parsed)
}

/// A file's rows as strings, before mapping.
#[derive(Debug, Default)]
struct Table {
    headers: Vec<String>,
    /// (row number as the user sees it, cells by header index)
    rows: Vec<(usize, Vec<Option<String>>)>,
}

fn io_err(path: &Path, e: std::io::Error) -> KbError {
    KbError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn utf8_problem(row: usize, column: Option<String>, bytes: &[u8]) -> Problem {
    let offset = std::str::from_utf8(bytes)
        .err()
        .map(|e| e.valid_up_to())
        .unwrap_or(0);
    Problem {
        row: Some(row),
        column,
        reason: format!(
            "not valid UTF-8 (byte 0x{:02X} at offset {offset}); the file looks like GBK/GB18030 or another legacy encoding: save it as UTF-8",
            bytes.get(offset).copied().unwrap_or(0)
        ),
    }
}

fn read_csv(path: &Path) -> Result<Table, KbError> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut table = Table::default();
    let mut problems = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    loop {
        let more = rdr.read_byte_record(&mut record).map_err(|e| {
            let row = e.position().map(|p| p.line() as usize);
            ImportError::one(
                path,
                Problem {
                    row,
                    column: None,
                    reason: format!("not valid CSV: {e}"),
                },
            )
        })?;
        if !more {
            break;
        }
        let row = record.position().map_or(0, |p| p.line() as usize);
        if first {
            first = false;
            for (i, cell) in record.iter().enumerate() {
                match std::str::from_utf8(cell) {
                    Ok(s) => table.headers.push(s.trim().to_string()),
                    Err(_) => {
                        problems.push(utf8_problem(row, Some(format!("#{}", i + 1)), cell));
                        table.headers.push(String::new());
                    }
                }
            }
            continue;
        }
        if record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        if record.len() > table.headers.len() {
            problems.push(Problem {
                row: Some(row),
                column: None,
                reason: format!(
                    "{} cells but the header has {} columns (an unquoted comma?)",
                    record.len(),
                    table.headers.len()
                ),
            });
            continue;
        }
        let mut cells = Vec::with_capacity(table.headers.len());
        for (i, cell) in record.iter().enumerate() {
            match std::str::from_utf8(cell) {
                Ok(s) => cells.push(Some(s.to_string())),
                Err(_) => {
                    problems.push(utf8_problem(row, table.headers.get(i).cloned(), cell));
                    cells.push(None);
                }
            }
        }
        table.rows.push((row, cells));
        if problems.len() >= ImportError::MAX_PROBLEMS {
            break;
        }
    }
    if first {
        problems.push(Problem {
            row: None,
            column: None,
            reason: "the file is empty (no header row)".into(),
        });
    }
    if !problems.is_empty() {
        return Err(ImportError {
            file: path.to_path_buf(),
            problems,
        }
        .into());
    }
    Ok(table)
}

fn cell_string(d: &Data) -> Result<String, String> {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) => t.format("%Y-%m-%d").to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::Error(e) => return Err(format!("the cell holds a spreadsheet error ({e})")),
    })
}

fn read_xlsx(path: &Path) -> Result<Table, KbError> {
    let not_xlsx = |e: String| {
        KbError::from(ImportError::one(
            path,
            Problem {
                row: None,
                column: None,
                reason: format!("not a readable XLSX workbook: {e}"),
            },
        ))
    };
    if !path.exists() {
        return Err(io_err(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook(path).map_err(|e: calamine::XlsxError| not_xlsx(e.to_string()))?;
    let range = match wb.worksheet_range_at(0) {
        Some(r) => r.map_err(|e| not_xlsx(e.to_string()))?,
        None => return Err(not_xlsx("the workbook has no sheet".into())),
    };
    let (row0, _) = range.start().unwrap_or((0, 0));
    let mut table = Table::default();
    let mut problems = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        let row = row0 as usize + i + 1;
        if i == 0 {
            table.headers = cells
                .iter()
                .map(|c| cell_string(c).unwrap_or_default().trim().to_string())
                .collect();
            continue;
        }
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let mut out = Vec::with_capacity(cells.len());
        for (j, c) in cells.iter().enumerate() {
            match cell_string(c) {
                Ok(s) => out.push(Some(s)),
                Err(reason) => {
                    problems.push(Problem {
                        row: Some(row),
                        column: table.headers.get(j).cloned(),
                        reason,
                    });
                    out.push(None);
                }
            }
        }
        table.rows.push((row, out));
    }
    if table.headers.is_empty() {
        problems.push(Problem {
            row: None,
            column: None,
            reason: "the first sheet is empty (no header row)".into(),
        });
    }
    if !problems.is_empty() {
        return Err(ImportError {
            file: path.to_path_buf(),
            problems,
        }
        .into());
    }
    Ok(table)
}

fn json_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(json_cell).collect::<Vec<_>>().join("|"),
        other => other.to_string(),
    }
}

fn read_jsonl(path: &Path) -> Result<Table, KbError> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut table = Table::default();
    let mut col_of: HashMap<String, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let row = i + 1;
        let Ok(line) = std::str::from_utf8(line) else {
            problems.push(utf8_problem(row, None, line));
            continue;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(line) {
            Ok(o) => o,
            Err(e) => {
                problems.push(Problem {
                    row: Some(row),
                    column: None,
                    reason: format!("not a JSON object: {e}"),
                });
                continue;
            }
        };
        let mut cells = vec![None; table.headers.len()];
        for (k, v) in &obj {
            let idx = *col_of.entry(k.clone()).or_insert_with(|| {
                table.headers.push(k.clone());
                table.headers.len() - 1
            });
            if cells.len() <= idx {
                cells.resize(idx + 1, None);
            }
            cells[idx] = Some(json_cell(v));
        }
        table.rows.push((row, cells));
        if problems.len() >= ImportError::MAX_PROBLEMS {
            break;
        }
    }
    if !problems.is_empty() {
        return Err(ImportError {
            file: path.to_path_buf(),
            problems,
        }
        .into());
    }
    Ok(table)
}

fn parse_date(s: &str) -> Result<Option<String>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let head = s.split(['T', ' ']).next().unwrap_or(s);
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(head, fmt) {
            return Ok(Some(d.format("%Y-%m-%d").to_string()));
        }
    }
    Err(format!("{s:?} is not a date (use YYYY-MM-DD)"))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(['|', '\n'])
        .map(|p| clean_html(p).trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn stable_id(question: &str) -> String {
    // FNV-1a over the simplified question: the same question gets the same id
    // on every import.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in simplify(question).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("q{h:016x}")
}

fn table_to_entries(path: &Path, table: &Table, map: &FieldMap) -> Result<Parsed, KbError> {
    let norm = |s: &str| simplify(s.trim());
    let header_norm: Vec<String> = table.headers.iter().map(|h| norm(h)).collect();
    let mut problems = Vec::new();
    let mut cols: HashMap<Field, usize> = HashMap::new();
    for field in Field::ALL {
        let given = map.columns.iter().find(|(f, _)| *f == field);
        let found = match given {
            Some((_, col)) => {
                let idx = table
                    .headers
                    .iter()
                    .position(|h| h == col)
                    .or_else(|| header_norm.iter().position(|h| *h == norm(col)));
                if idx.is_none() {
                    problems.push(Problem {
                        row: None,
                        column: Some(col.clone()),
                        reason: format!(
                            "mapped to {field} but the file has no such column (columns: {})",
                            table.headers.join(", ")
                        ),
                    });
                }
                idx
            }
            None => field
                .aliases()
                .iter()
                .find_map(|a| header_norm.iter().position(|h| h == a)),
        };
        match found {
            Some(i) => {
                cols.insert(field, i);
            }
            None if field.required() && given.is_none() => problems.push(Problem {
                row: None,
                column: None,
                reason: format!(
                    "missing required column for {field}: none of {} found (columns: {}); map one with --field {field}=COLUMN",
                    field.aliases().join("/"),
                    table.headers.join(", ")
                ),
            }),
            None => {}
        }
    }
    if !problems.is_empty() {
        return Err(ImportError {
            file: path.to_path_buf(),
            problems,
        }
        .into());
    }
    let mapping: Vec<(Field, String)> = Field::ALL
        .iter()
        .filter_map(|f| cols.get(f).map(|&i| (*f, table.headers[i].clone())))
        .collect();
    let mut entries = Vec::with_capacity(table.rows.len());
    let mut id_rows: HashMap<String, usize> = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let get = |f: Field| -> String {
            cols.get(&f)
                .and_then(|&i| cells.get(i).cloned().flatten())
                .unwrap_or_default()
        };
        let col_name = |f: Field| cols.get(&f).map(|&i| table.headers[i].clone());
        let mut problem = |f: Field, reason: String| {
            problems.push(Problem {
                row: Some(row),
                column: col_name(f).or_else(|| Some(f.name().to_string())),
                reason,
            });
        };
        let question = clean_html(&get(Field::Question));
        let answer = clean_html(&get(Field::Answer));
        if question.is_empty() {
            problem(Field::Question, "empty question".into());
        }
        if answer.is_empty() {
            problem(Field::Answer, "empty answer".into());
        }
        let id = if cols.contains_key(&Field::Id) {
            let id = get(Field::Id).trim().to_string();
            if id.is_empty() {
                problem(Field::Id, "empty id".into());
            }
            id
        } else {
            stable_id(&question)
        };
        let mut date = |f: Field| match parse_date(&get(f)) {
            Ok(d) => d,
            Err(reason) => {
                problem(f, reason);
                None
            }
        };
        let effective = date(Field::Effective);
        let expiry = date(Field::Expiry);
        let reviewed = date(Field::Reviewed);
        let status_text = get(Field::Status);
        let status = match Status::parse(&status_text) {
            Some(s) => s,
            None => {
                problem(
                    Field::Status,
                    format!("{status_text:?} is not a status (use active or retired)"),
                );
                Status::Active
            }
        };
        if !id.is_empty() {
            if let Some(first) = id_rows.get(&id) {
                let reason = if cols.contains_key(&Field::Id) {
                    format!("duplicate id {id:?} (also on row {first})")
                } else {
                    format!("same question as row {first} (no id column to tell them apart)")
                };
                problem(Field::Id, reason);
            } else {
                id_rows.insert(id.clone(), row);
            }
        }
        if problems.len() >= ImportError::MAX_PROBLEMS {
            break;
        }
        entries.push(Entry {
            id,
            question,
            alternatives: split_list(&get(Field::Alternatives)),
            answer,
            department: clean_html(&get(Field::Department)),
            domain: clean_html(&get(Field::Domain)),
            category: clean_html(&get(Field::Category)),
            region: clean_html(&get(Field::Region)),
            tags: split_list(&get(Field::Tags)),
            source: clean_html(&get(Field::Source)),
            effective,
            expiry,
            reviewed,
            status,
            station: String::new(),
        });
    }
    if entries.is_empty() && problems.is_empty() {
        problems.push(Problem {
            row: None,
            column: None,
            reason: "no entries (only a header row)".into(),
        });
    }
    if !problems.is_empty() {
        problems.truncate(ImportError::MAX_PROBLEMS);
        return Err(ImportError {
            file: path.to_path_buf(),
            problems,
        }
        .into());
    }
    let duplicates = near_duplicates(&entries, 0.85);
    Ok(Parsed {
        entries,
        mapping,
        duplicates,
    })
}

/// Pairs of entries whose normalised questions share at least `threshold`
/// of their character bigrams (Jaccard); 1.0 means the same question.
pub fn near_duplicates(entries: &[Entry], threshold: f32) -> Vec<NearDuplicate> {
    let grams: Vec<HashSet<(char, char)>> = entries
        .iter()
        .map(|e| {
            let chars: Vec<char> = simplify(&e.question)
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect();
            chars.windows(2).map(|w| (w[0], w[1])).collect()
        })
        .collect();
    let mut postings: HashMap<(char, char), Vec<u32>> = HashMap::new();
    let mut out = Vec::new();
    let mut shared: HashMap<u32, u32> = HashMap::new();
    for (i, g) in grams.iter().enumerate() {
        shared.clear();
        for gram in g {
            if let Some(list) = postings.get(gram) {
                for &j in list {
                    *shared.entry(j).or_default() += 1;
                }
            }
        }
        for (&j, &n) in &shared {
            let other = &grams[j as usize];
            let union = g.len() + other.len() - n as usize;
            let sim = n as f32 / union.max(1) as f32;
            if sim >= threshold {
                out.push(NearDuplicate {
                    a: entries[j as usize].id.clone(),
                    b: entries[i].id.clone(),
                    similarity: sim,
                });
            }
        }
        let idx = u32::try_from(i).unwrap_or(u32::MAX);
        for gram in g {
            postings.entry(*gram).or_default().push(idx);
        }
    }
    out.sort_by(|x, y| y.similarity.total_cmp(&x.similarity));
    out
}

fn export_err(path: &Path, reason: impl fmt::Display) -> KbError {
    KbError::Export {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn field_value(e: &Entry, f: Field) -> String {
    match f {
        Field::Id => e.id.clone(),
        Field::Question => e.question.clone(),
        Field::Alternatives => e.alternatives.join("|"),
        Field::Answer => e.answer.clone(),
        Field::Department => e.department.clone(),
        Field::Domain => e.domain.clone(),
        Field::Category => e.category.clone(),
        Field::Region => e.region.clone(),
        Field::Tags => e.tags.join("|"),
        Field::Source => e.source.clone(),
        Field::Effective => e.effective.clone().unwrap_or_default(),
        Field::Expiry => e.expiry.clone().unwrap_or_default(),
        Field::Reviewed => e.reviewed.clone().unwrap_or_default(),
        Field::Status => e.status.as_str().to_string(),
    }
}

/// Writes `entries` to `path` with one column per [`Field`] (named as
/// [`Field::name`]), so the file imports back without a mapping.
pub fn export_file(path: &Path, format: Format, entries: &[Entry]) -> Result<(), KbError> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_path(path).map_err(|e| export_err(path, e))?;
            w.write_record(Field::ALL.iter().map(|f| f.name()))
                .map_err(|e| export_err(path, e))?;
            for e in entries {
                w.write_record(Field::ALL.iter().map(|&f| field_value(e, f)))
                    .map_err(|x| export_err(path, x))?;
            }
            w.flush().map_err(|e| export_err(path, e))?;
        }
        Format::Jsonl => {
            let mut out = String::new();
            for e in entries {
                let line = serde_json::to_string(e).map_err(|x| export_err(path, x))?;
                out.push_str(&line);
                out.push('\n');
            }
            std::fs::write(path, out).map_err(|e| export_err(path, e))?;
        }
        Format::Xlsx => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let sheet = wb.add_worksheet();
            sheet
                .set_name("knowledge base")
                .map_err(|e| export_err(path, e))?;
            for (c, f) in (0u16..).zip(Field::ALL) {
                sheet
                    .write_string(0, c, f.name())
                    .map_err(|e| export_err(path, e))?;
            }
            for (r, e) in (1u32..).zip(entries) {
                for (c, f) in (0u16..).zip(Field::ALL) {
                    let v = field_value(e, f);
                    if !v.is_empty() {
                        sheet
                            .write_string(r, c, &v)
                            .map_err(|x| export_err(path, x))?;
                    }
                }
            }
            wb.save(path).map_err(|e| export_err(path, e))?;
        }
    }
    Ok(())
}
