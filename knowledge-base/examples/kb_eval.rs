//! Evaluates a query file against the built-in demo knowledge base (or an
//! import file) without the console: the same report as `airbridge kb eval`.
//!
//! `cargo run -p airbridge-kb --release --example kb_eval -- QUERIES.tsv [K] [IMPORT_FILE FIELD=COL ...]`

use std::path::Path;

use airbridge_kb::{Analyzer, FieldMap, Format, Mode, SearchIndex, eval, import};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let queries_path = args
        .first()
        .ok_or("usage: kb_eval QUERIES.tsv [K] [FILE FIELD=COL ...]")?;
    let k: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(3);
    let entries = match args.get(2) {
        Some(file) => {
            let path = Path::new(file);
            let map = FieldMap::from_args(&args[3..])?;
            let format = Format::from_path(path).ok_or("unknown file format")?;
            import::parse_file(path, format, &map)?.entries
        }
        None => airbridge_kb::demo::entries()?,
    };
    let analyzer = Analyzer::embedded()?;
    let text = std::fs::read_to_string(queries_path)?;
    let queries = eval::parse_queries(Path::new(queries_path), &text)?;
    let full = SearchIndex::build(analyzer, entries.clone(), Mode::Full);
    let base = SearchIndex::build(analyzer, entries, Mode::Plain);
    let rf = eval::evaluate(&full, &queries, k);
    let rb = eval::evaluate(&base, &queries, k);
    if std::env::var_os("KB_EVAL_MISSES").is_some() {
        for (q, first) in &rf.misses {
            println!("MISS [{}] {} -> {:?}", q.kind, q.text, first);
        }
    }
    println!("{}", eval::format_comparison(&rf, &rb));
    Ok(())
}
